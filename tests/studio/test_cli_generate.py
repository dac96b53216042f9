"""`manage.py generate`: the command-line way to make images, with the same checks as the web UI."""

from __future__ import annotations

import hashlib
import io
import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from studio.core.models import AuditEvent
from studio.core.outbox.models import OutboxMessage
from studio.generation.models import Campaign, GenerationJob, JobStatus, Variant


def generate(*args: str) -> str:
    out = io.StringIO()
    call_command("generate", *args, stdout=out)
    return out.getvalue()


BASE = ("--workspace", "acme", "--deployment", "offline")


@pytest.fixture
def setup(workspace, campaign, marketer, offline_deployment):
    return workspace


def test_wait_json_prints_the_finished_job_with_its_variants_and_cost(setup):
    out = generate(
        *BASE,
        "--prompt",
        "A bowl of lemons on a teal table",
        "--size",
        "1200x628",
        "--n",
        "2",
        "--quality",
        "low",
        "--wait",
        "--json",
    )

    payload = json.loads(out)
    job = GenerationJob.objects.get()
    assert payload["job"] == job.pk
    assert payload["status"] == JobStatus.SUCCEEDED
    assert payload["error"] is None
    assert Decimal(payload["estimated_cost"]) == job.estimated_cost > 0
    assert Decimal(payload["actual_cost"]) == job.actual_cost > 0
    assert len(payload["variants"]) == 2
    for item in payload["variants"]:
        variant = Variant.objects.get(pk=item["id"])
        assert (item["width"], item["height"]) == (job.planned_width, job.planned_height)
        with variant.image.open("rb") as fh:
            assert item["sha256"] == hashlib.sha256(fh.read()).hexdigest() == variant.sha256
        assert item["status"] == "ready"  # screened in this process too
    campaign = Campaign.objects.get()
    assert campaign.spent_cost == job.actual_cost
    assert campaign.reserved_cost == 0


def test_wait_without_json_prints_one_readable_line(setup):
    out = generate(*BASE, "--prompt", "A bowl of lemons", "--size", "1024x1024", "--quality", "low", "--wait")

    job = GenerationJob.objects.get()
    assert out.strip().startswith(f"Job {job.pk}: Succeeded · 1 variant(s) · cost ")
    assert "\n" not in out.strip()


def test_a_blocklisted_prompt_exits_non_zero_with_the_reason(setup):
    setup.blocklist_terms = ["competitorco"]
    setup.save(update_fields=["blocklist_terms"])
    out = io.StringIO()

    with pytest.raises(SystemExit) as exit_info:
        call_command(
            "generate",
            *BASE,
            "--prompt",
            "Our soda beats CompetitorCo",
            "--size",
            "1024x1024",
            "--wait",
            "--json",
            stdout=out,
        )

    assert exit_info.value.code != 0
    payload = json.loads(out.getvalue())
    assert payload["status"] == JobStatus.BLOCKED
    assert "competitorco" in payload["error"].lower()
    assert "nothing was charged" in payload["error"]
    assert "blocklist" in payload["error"]
    assert payload["variants"] == []
    assert Decimal(payload["actual_cost"]) == 0
    assert not Variant.objects.exists()
    assert Campaign.objects.get().spent_cost == 0
    assert AuditEvent.objects.filter(action="studio.job.blocked").count() == 1


def test_without_wait_the_job_is_queued_and_its_id_printed(setup, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        out = generate(*BASE, "--prompt", "A bowl of lemons", "--size", "1200x628", "--quality", "low")

    job = GenerationJob.objects.get()
    assert out.strip() == f"Enqueued job {job.pk}"
    assert job.status == JobStatus.QUEUED
    assert job.reserved_cost == job.estimated_cost > 0
    assert Campaign.objects.get().reserved_cost == job.estimated_cost
    assert callbacks  # the worker task is sent once the job row is committed, through the outbox:
    assert OutboxMessage.objects.get(task_name="studio.tasks.job_run", published_at__isnull=True).args == [job.pk]
    assert not Variant.objects.exists()


def test_without_wait_json_prints_the_queued_job(setup, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        payload = json.loads(generate(*BASE, "--prompt", "A bowl of lemons", "--size", "1200x628", "--json"))

    job = GenerationJob.objects.get()
    assert payload == {"job": job.pk, "status": "queued", "estimated_cost": str(job.estimated_cost)}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--workspace", "nope", "--deployment", "offline"), "No workspace with slug 'nope'."),
        (("--workspace", "acme", "--deployment", "dall-e-9"), "No deployment named 'dall-e-9' in acme."),
    ],
)
def test_unknown_workspace_or_deployment_is_a_one_line_error(setup, args, message):
    with pytest.raises(CommandError) as error:
        generate(*args, "--prompt", "Lemons", "--size", "1024x1024")

    assert str(error.value) == message
    assert not GenerationJob.objects.exists()


@pytest.mark.parametrize(
    ("size", "words"),
    [
        ("1200by628", "Write the size as width x height in pixels, for example 1200x628."),
        ("8x8", "That size is too small"),
        ("99999x628", "That size is too large"),
    ],
)
def test_a_bad_size_is_a_one_line_error(setup, size, words):
    with pytest.raises(CommandError) as error:
        generate(*BASE, "--prompt", "Lemons", "--size", size)

    assert words in str(error.value)
    assert "\n" not in str(error.value)
    assert not GenerationJob.objects.exists()


def test_a_setting_the_model_does_not_support_names_the_setting(setup):
    with pytest.raises(CommandError) as error:
        generate(*BASE, "--prompt", "Lemons", "--size", "1024x1024", "--quality", "ultra")

    assert str(error.value).startswith("Please fix the highlighted settings. (quality: ")
    assert "\n" not in str(error.value)
    assert not GenerationJob.objects.exists()


def test_an_empty_prompt_is_a_one_line_error(setup):
    with pytest.raises(CommandError) as error:
        generate(*BASE, "--prompt", "   ", "--size", "1024x1024")

    assert "prompt" in str(error.value).lower()
    assert "\n" not in str(error.value)
    assert not GenerationJob.objects.exists()


def test_a_user_who_is_not_a_marketer_is_refused(setup, reviewer):
    with pytest.raises(CommandError) as error:
        generate(*BASE, "--prompt", "Lemons", "--size", "1024x1024", "--user", "rob")

    assert "marketer" in str(error.value)
    assert not GenerationJob.objects.exists()


def test_an_unknown_campaign_is_named(setup):
    with pytest.raises(CommandError) as error:
        generate(*BASE, "--prompt", "Lemons", "--size", "1024x1024", "--campaign", "autumn")

    assert str(error.value) == "No campaign 'autumn' in acme."


def test_the_draft_is_named_after_the_prompts_first_line(setup, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        generate(*BASE, "--prompt", "  Lemon soda hero\nOn a sunny kitchen table, warm light", "--size", "1024x1024")

    job = GenerationJob.objects.get()
    assert job.draft_version.draft.title == "Lemon soda hero"
    assert job.draft_version.text == "Lemon soda hero\nOn a sunny kitchen table, warm light"
