"""In real Chromium: plan a 2 formats x 2 locales run, see the grid and its cost before spending, launch it
and watch the grid fill in as the worker lands cells (live server on PostgreSQL, a real worker on Redis)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from studio.generation import services
from studio.generation.models import Campaign
from studio.runs.models import ProductionRun, RunStatus
from tests.conftest import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_marketer_plans_launches_and_watches_a_run_fill_in(page, live_server, celery_worker_process, login):
    call_command("seed_demo", quiet=True)
    campaign = Campaign.objects.get(slug="spring-launch")
    marketer = campaign.workspace.memberships.get(user__username="marketer").user
    services.draft_create(
        actor=marketer,
        campaign=campaign,
        title="Lemon run",
        text="A cold glass of lemon soda on a sunny kitchen table",
        locale_copy={"en": "Hello spring", "ja": "春のセール"},
    )
    login(page, "marketer", "marketer-demo-pass")
    page.goto(f"{live_server.url}/w/{campaign.workspace.slug}/campaigns/{campaign.slug}/")
    page.get_by_role("link", name="Runs: every format x locale at once").click()
    page.get_by_role("link", name="Plan a run").click()
    page.get_by_label("Generate from a draft").select_option(label="Lemon run")
    for label in ("Medium rectangle (300x250)", "de", "hi"):
        page.get_by_label(label, exact=True).uncheck()
    plan = page.locator("#run-plan")
    expect(plan).to_contain_text("Estimated total")
    expect(plan).to_contain_text("4 planned")
    expect(plan).to_contain_text("LinkedIn ad")
    assert not ProductionRun.objects.exists()
    page.get_by_role("button", name="Launch the run").click()
    expect(page.get_by_role("heading", name="Progress")).to_be_visible(timeout=60000)
    live = page.locator("#run-live")
    expect(live.locator("td.run-cell img")).to_have_count(4, timeout=120000)
    expect(live).to_contain_text("Finished", timeout=60000)
    run = ProductionRun.objects.get()
    wait_for(lambda: ProductionRun.objects.get(pk=run.pk).status == RunStatus.FINISHED, timeout=30, message="run")
    assert run.cells.count() == 4
    assert not page.js_errors, page.js_errors
