"""Production run pages: plan, launch, the live run page (constant queries at two sizes), cancel, retry."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from studio.generation.models import Campaign
from studio.runs import services
from studio.runs.models import CellStatus, ProductionRun, RunStatus
from tests import factories as f


@pytest.fixture
def mia(client, marketer):
    client.force_login(marketer)
    return client


def _form(run_draft, formats, deployment, **extra):
    data = {
        "draft": run_draft.pk,
        "formats": [fmt.pk for fmt in formats],
        "locales": ["en", "ja"],
        "n": 1,
        "deployment": deployment.pk,
        "quality": "low",
    }
    data.update(extra)
    return data


def test_plan_page_shows_the_grid_before_spending(mia, workspace, campaign, run_draft, formats, offline_deployment):
    url = reverse("runs:run_new", args=[workspace.slug, campaign.slug])
    response = mia.get(url, {**_form(run_draft, formats, offline_deployment), "plan": "1"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "LinkedIn ad" in body
    assert "Square post" in body
    assert "Estimated total" in body
    assert "$" in body
    assert not ProductionRun.objects.exists()
    assert Campaign.objects.get(pk=campaign.pk).reserved_cost == 0


def test_plan_page_shows_refused_cells_with_their_reason(
    mia, workspace, campaign, run_draft, formats, offline_deployment
):
    campaign.locales = ["en", "ja", "de"]
    campaign.save()
    url = reverse("runs:run_new", args=[workspace.slug, campaign.slug])
    response = mia.get(url, {**_form(run_draft, formats, offline_deployment, locales=["en", "de"]), "plan": "1"})
    body = response.content.decode()
    assert "Refused" in body
    assert "no in-image copy for de" in body


def test_launch_redirects_to_the_run(mia, workspace, campaign, run_draft, formats, offline_deployment):
    url = reverse("runs:run_new", args=[workspace.slug, campaign.slug])
    response = mia.post(url, _form(run_draft, formats, offline_deployment))
    run = ProductionRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("runs:run", args=[workspace.slug, run.pk])
    assert run.cells.count() == 4


def test_launch_over_budget_answers_409_with_the_numbers(
    mia, workspace, campaign, run_draft, formats, offline_deployment
):
    Campaign.objects.filter(pk=campaign.pk).update(budget=Decimal("0.0001"))
    url = reverse("runs:run_new", args=[workspace.slug, campaign.slug])
    response = mia.post(url, _form(run_draft, formats, offline_deployment), HTTP_HX_REQUEST="true")
    assert response.status_code == 409
    assert "left of its" in response.content.decode()
    assert not ProductionRun.objects.exists()


def test_empty_grid_is_a_clear_message_not_a_500(mia, workspace, campaign, run_draft, formats, offline_deployment):
    url = reverse("runs:run_new", args=[workspace.slug, campaign.slug])
    response = mia.post(url, _form(run_draft, [], offline_deployment))
    assert response.status_code in (409, 422)
    assert "grid is empty" in response.content.decode()


def _run_with(spec, marketer, formats_count, campaign):
    formats = [
        f.CampaignFormatFactory(campaign=campaign, name=f"Format {formats_count}-{i:03d}", width=1024, height=1024)
        for i in range(formats_count)
    ]
    run = services.run_launch(actor=marketer, spec=spec(formats=formats), enqueue=False)
    for cell_id in run.cells.order_by("pk").values_list("pk", flat=True)[:formats_count]:
        services.cell_execute(cell_id=cell_id)
    return run


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_run_page_queries_are_constant_in_the_number_of_cells(mia, workspace, marketer, campaign, spec):
    small = _run_with(spec, marketer, 1, campaign)
    big = _run_with(spec, marketer, 6, campaign)
    small_q = _queries(mia, reverse("runs:run", args=[workspace.slug, small.pk]))
    big_q = _queries(mia, reverse("runs:run", args=[workspace.slug, big.pk]))
    assert big_q == small_q
    partial_small = _queries(mia, reverse("runs:run", args=[workspace.slug, small.pk]) + "?poll=3")
    assert partial_small == small_q


def test_run_page_polls_while_running_and_stops_when_finished(mia, workspace, marketer, spec):
    run = services.run_launch(actor=marketer, spec=spec(locales=["en"]), enqueue=False)
    url = reverse("runs:run", args=[workspace.slug, run.pk])
    body = mia.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="run-live"' in body
    assert "hx-trigger" in body
    assert "<html" not in body  # the partial
    for cell in run.cells.all():
        services.cell_execute(cell_id=cell.pk)
    body = mia.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in body
    assert "Finished" in body
    assert body.count("<img") == 2


def test_cancel_twice_and_cancel_finished_are_messages(mia, client, workspace, marketer, spec, campaign):
    run = services.run_launch(actor=marketer, spec=spec(), enqueue=False)
    url = reverse("runs:run_cancel", args=[workspace.slug, run.pk])
    response = mia.post(url, follow=True)
    assert "Run cancelled" in response.content.decode()
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert Campaign.objects.get(pk=campaign.pk).reserved_cost == 0
    response = mia.post(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 409
    assert "already cancelled" in response.content.decode()
    finished = services.run_launch(actor=marketer, spec=spec(locales=["en"]), enqueue=False)
    for cell in finished.cells.all():
        services.cell_execute(cell_id=cell.pk)
    response = mia.post(reverse("runs:run_cancel", args=[workspace.slug, finished.pk]), follow=True)
    assert "already finished" in response.content.decode()


def test_other_workspaces_runs_are_404(client, marketer, spec, workspace):
    run = services.run_launch(actor=marketer, spec=spec(locales=["en"]), enqueue=False)
    other = f.WorkspaceFactory(slug="other")
    outsider = f.UserFactory(username="otto")
    f.MembershipFactory(user=outsider, workspace=other, role=f.core_models.Role.MARKETER)
    client.force_login(outsider)
    assert client.get(reverse("runs:run", args=[workspace.slug, run.pk])).status_code == 404
    assert client.get(reverse("runs:run", args=["other", run.pk])).status_code == 404
    assert client.post(reverse("runs:run_cancel", args=["other", run.pk])).status_code == 404


def test_retry_button_requeues_failed_cells(mia, workspace, marketer, spec):
    run = services.run_launch(actor=marketer, spec=spec(locales=["en"]), enqueue=False)
    run.cells.update(status=CellStatus.FAILED)
    run.status = RunStatus.FINISHED
    run.save()
    response = mia.post(reverse("runs:run_retry", args=[workspace.slug, run.pk]), follow=True)
    assert "Retrying 2 failed cells" in response.content.decode()
    assert set(run.cells.values_list("status", flat=True)) == {CellStatus.QUEUED}


def test_campaign_page_links_to_runs(mia, workspace, campaign):
    body = mia.get(reverse("studio:campaign", args=[workspace.slug, campaign.slug])).content.decode()
    assert reverse("runs:run_list", args=[workspace.slug, campaign.slug]) in body
    assert mia.get(reverse("runs:run_list", args=[workspace.slug, campaign.slug])).status_code == 200


def _poll(client, url, since_ms: int):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(f"{url}?poll=1&since={since_ms}", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return response.content.decode(), len(ctx.captured_queries)


def _now_ms() -> int:
    from django.utils import timezone  # noqa: PLC0415

    return int(timezone.now().timestamp() * 1000) + 1


def test_a_live_poll_sends_the_counts_and_only_the_cells_that_changed(mia, workspace, marketer, spec):
    run = services.run_launch(actor=marketer, spec=spec(), enqueue=False)
    url = reverse("runs:run", args=[workspace.slug, run.pk])
    page = mia.get(url).content.decode()
    assert page.count('class="run-cell-body"') == 4
    assert "&amp;since=" in page  # the page's first poll asks only for what changes after it
    since = _now_ms()
    body, _ = _poll(mia, url, since)
    assert 'id="run-progress"' in body
    assert "hx-swap-oob" not in body  # nothing changed: the counts only
    assert 'id="run-live"' not in body
    first = run.cells.order_by("pk").first()
    services.cell_execute(cell_id=first.pk)
    body, _ = _poll(mia, url, since)
    assert body.count("hx-swap-oob") == 1
    assert f'id="cell-{first.pk}"' in body
    assert "<img" in body
    assert "Done</dt><dd>1 of 4" in body


def test_a_live_poll_costs_the_same_queries_for_one_or_many_changed_cells(mia, workspace, marketer, spec):
    run = services.run_launch(actor=marketer, spec=spec(), enqueue=False)
    url = reverse("runs:run", args=[workspace.slug, run.pk])
    since = _now_ms()
    cells = list(run.cells.order_by("pk").values_list("pk", flat=True))
    services.cell_execute(cell_id=cells[0])
    one_body, one = _poll(mia, url, since)
    for cell_id in cells[1:]:
        services.cell_execute(cell_id=cell_id)
    all_body, many = _poll(mia, url, since)
    assert (one_body.count("hx-swap-oob"), all_body.count("hx-swap-oob")) == (1, 4)
    assert many == one


def test_the_run_page_says_how_many_cells_are_prepared(
    mia, workspace, marketer, spec, django_capture_on_commit_callbacks
):
    from studio.runs.launching import run_prepare_chunk  # noqa: PLC0415

    with django_capture_on_commit_callbacks(execute=False):
        run = services.run_launch(actor=marketer, spec=spec())
    url = reverse("runs:run", args=[workspace.slug, run.pk])
    assert "Preparing 0 of 4 cells" in mia.get(url).content.decode()
    run_prepare_chunk(run_id=run.pk, size=3, enqueue=False)
    assert "Preparing 3 of 4 cells" in mia.get(url, HTTP_HX_REQUEST="true").content.decode()
    run_prepare_chunk(run_id=run.pk, size=3, enqueue=False)
    assert "Preparing" not in mia.get(url).content.decode()


def test_run_page_and_its_polls_cost_the_same_queries_at_4_and_40_cells(mia, workspace, marketer, campaign, spec):
    since = _now_ms()
    runs = []
    for count in (2, 20):
        formats = [
            f.CampaignFormatFactory(campaign=campaign, name=f"Grid {count}-{i:03d}", width=1024, height=1024)
            for i in range(count)
        ]
        runs.append(services.run_launch(actor=marketer, spec=spec(formats=formats), enqueue=False))
        for cell_id in runs[-1].cells.order_by("pk").values_list("pk", flat=True)[:2]:  # a few with images
            services.cell_execute(cell_id=cell_id)
    small, big = runs
    assert (small.cells.count(), big.cells.count()) == (4, 40)
    small_url, big_url = (reverse("runs:run", args=[workspace.slug, r.pk]) for r in (small, big))
    mia.get(small_url)  # warm the session and role caches alike
    assert _queries(mia, small_url) == _queries(mia, big_url)
    small_poll, small_q = _poll(mia, small_url, since)
    big_poll, big_q = _poll(mia, big_url, since)
    assert (small_poll.count("hx-swap-oob"), big_poll.count("hx-swap-oob")) == (4, 40)
    assert small_q == big_q


@pytest.mark.parametrize("since", ["999999999999999", "99999999999999999999", "²", "-5"])
def test_a_live_poll_with_a_since_no_page_wrote_answers_the_full_page(mia, workspace, marketer, spec, since):
    run = services.run_launch(actor=marketer, spec=spec(), enqueue=False)
    url = reverse("runs:run", args=[workspace.slug, run.pk])
    response = mia.get(url, {"poll": "²", "seen": "²", "since": since}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
