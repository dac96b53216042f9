"""`run_launch` / `run_status` print the issue's JSON and exit non-zero when a cell did not succeed;
`deployment_upsert` sets the shared limits."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from studio.generation.models import Campaign, Deployment
from studio.runs.models import ProductionRun


def _launch(*args) -> tuple[int, dict]:
    out = StringIO()
    code = 0
    try:
        call_command("run_launch", *args, stdout=out)
    except SystemExit as exc:
        code = exc.code
    return code, json.loads(out.getvalue())


def test_run_launch_wait_json_prints_every_cell_with_its_variants(
    workspace, campaign, formats, run_draft, offline_deployment, marketer
):
    code, report = _launch(
        "--workspace", workspace.slug, "--campaign", campaign.slug, "--draft", str(run_draft.pk),
        "--deployment", offline_deployment.name, "--formats", "all", "--locales", "en,ja", "--n", "1",
        "--wait", "--json",
    )  # fmt: skip
    assert code == 0, report
    assert report["status"] == "finished"
    assert report["error"] is None
    assert Decimal(report["actual_cost"]) > 0
    assert {(c["format"], c["size"], c["locale"]) for c in report["cells"]} == {
        ("LinkedIn ad", "1200x628", "en"), ("LinkedIn ad", "1200x628", "ja"),
        ("Square post", "1080x1080", "en"), ("Square post", "1080x1080", "ja"),
    }  # fmt: skip
    for cell in report["cells"]:
        assert cell["status"] == "succeeded"
        assert len(cell["variants"]) == 1
        variant = cell["variants"][0]
        assert len(variant["sha256"]) == 64
        assert variant["width"] > 0
        assert variant["height"] > 0
    out = StringIO()
    call_command("run_status", str(report["run"]), "--json", stdout=out)
    assert json.loads(out.getvalue())["cells"] == report["cells"]


def test_run_launch_over_budget_prints_the_refusal_and_exits_non_zero(
    workspace, campaign, formats, run_draft, offline_deployment, marketer
):
    Campaign.objects.filter(pk=campaign.pk).update(budget=Decimal("0.0001"))
    code, report = _launch(
        "--workspace", workspace.slug, "--campaign", campaign.slug, "--draft", str(run_draft.pk),
        "--deployment", offline_deployment.name, "--json",
    )  # fmt: skip
    assert code == 1
    assert report["run"] is None
    assert "left of its" in report["error"]
    assert not ProductionRun.objects.exists()


def test_run_launch_with_a_locale_without_copy_exits_non_zero(
    workspace, campaign, formats, run_draft, offline_deployment, marketer
):
    campaign.locales = ["en", "de"]
    campaign.save()
    code, report = _launch(
        "--workspace", workspace.slug, "--campaign", campaign.slug, "--draft", str(run_draft.pk),
        "--deployment", offline_deployment.name, "--locales", "de", "--json", "--wait",
    )  # fmt: skip
    assert code == 1
    assert "no in-image copy for de" in report["error"]


def test_run_launch_unknown_format_is_a_command_error(workspace, campaign, formats, run_draft, offline_deployment):
    with pytest.raises(CommandError, match="No format named Billboard"):
        call_command(
            "run_launch", "--workspace", workspace.slug, "--campaign", campaign.slug, "--draft", str(run_draft.pk),
            "--deployment", offline_deployment.name, "--formats", "Billboard",
        )  # fmt: skip


def test_run_launch_without_wait_enqueues_and_prints_the_id(
    workspace, campaign, formats, run_draft, offline_deployment, marketer, django_capture_on_commit_callbacks
):
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        call_command(
            "run_launch", "--workspace", workspace.slug, "--campaign", campaign.slug, "--draft", str(run_draft.pk),
            "--deployment", offline_deployment.name, "--locales", "en", stdout=out,
        )  # fmt: skip
    run = ProductionRun.objects.get()
    assert f"Run {run.pk} enqueued" in out.getvalue()
    assert len(callbacks) >= 2  # one outbox publish per cell, after commit


def test_deployment_upsert_sets_the_shared_limits(workspace, profile):
    call_command(
        "deployment_upsert", "--workspace", workspace.slug, "--name", "batch", "--provider", "offline",
        "--max-concurrency", "16", "--rpm", "120", stdout=StringIO(),
    )  # fmt: skip
    deployment = Deployment.objects.get(workspace=workspace, name="batch")
    assert (deployment.max_concurrency, deployment.requests_per_minute) == (16, 120)
    with pytest.raises(CommandError, match="max_concurrency"):
        call_command(
            "deployment_upsert", "--workspace", workspace.slug, "--name", "batch", "--provider", "offline",
            "--max-concurrency", "0", stdout=StringIO(),
        )  # fmt: skip
