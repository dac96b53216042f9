"""Reviewing a production run in real Chromium: move through the grid with the arrow keys, select with
Space, press "a", confirm in the dialog, see each image decided on its own, then publish the run (the
real worker renders). The run is built with the models directly, not the runs app's services."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from approvals.publishing.models import Publication
from approvals.reviews import services
from approvals.reviews.models import Decision
from studio.generation.models import VariantStatus
from tests import factories as f
from tests.approvals.factories_reviews import member
from tests.reviews.run_fixtures import make_run

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_keyboard_select_and_bulk_approve_after_confirmation(live_server, celery_worker_process, page, login):
    workspace = f.WorkspaceFactory(slug="acme", name="Acme")
    marketer = member(workspace, "mia")
    reviewer = member(workspace, "rob", "brand_reviewer")
    campaign = f.CampaignFactory(workspace=workspace, slug="spring", name="Spring launch")
    formats = [
        f.CampaignFormatFactory(campaign=campaign, name="LinkedIn ad", width=1200, height=628),
        f.CampaignFormatFactory(campaign=campaign, name="Instagram Story", width=1080, height=1920),
    ]
    fixture = make_run(workspace=workspace, creator=marketer, campaign=campaign, formats=formats)
    for variant in fixture.variants():
        services.variant_submit(actor=marketer, variant=variant)

    login(page, reviewer.username, "pw-correct-horse")
    page.goto(live_server.url + reverse("approvals:run_review", args=[workspace.slug, fixture.run.pk]))
    expect(page.get_by_text("“春のセール”")).to_be_visible()
    items = page.locator("[data-run-item]")
    expect(items).to_have_count(4)

    # Rows are locales (en, ja), columns formats (Instagram Story, LinkedIn ad): en/Story is first.
    page.keyboard.press("ArrowRight")
    expect(items.nth(0)).to_be_focused()
    page.keyboard.press("Space")
    page.keyboard.press("ArrowDown")  # the same format in the next locale: ja/Story
    expect(items.nth(2)).to_be_focused()
    page.keyboard.press("Space")
    expect(page.locator("[data-selection-count]")).to_have_text("2 images selected.")

    # "a" asks first; cancelling decides nothing.
    page.keyboard.press("a")
    dialog = page.locator("[data-run-confirm]")
    expect(dialog).to_be_visible()
    expect(dialog.locator("[data-confirm-title]")).to_have_text("Approve 2 images?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert not Decision.objects.exists()

    page.keyboard.press("a")
    dialog.get_by_role("button", name="Approve 2").click()
    expect(page.locator("[data-bulk-results]")).to_contain_text("Approved 2 of 2 selected.")
    assert Decision.objects.filter(reviewer=reviewer, outcome="approve").count() == 2
    story = [fixture.cell("Instagram Story", loc).job.variants.get() for loc in ("en", "ja")]
    for variant in story:
        variant.refresh_from_db()
        assert variant.status == VariantStatus.APPROVED
    # The approved images are no longer selectable; the two LinkedIn ads still wait.
    expect(page.locator('input[name="items"]')).to_have_count(2)

    # Publishing the run: the two approved Story images publish; the two ads (still in review) are listed.
    page.get_by_role("link", name="Publish this run").click()
    expect(page.locator("[data-run-missing]")).to_contain_text("No approved image for this format (1 in review).")
    expect(page.locator("[data-rendition-preview]")).to_have_count(2)
    page.get_by_role("button", name="Publish 2 approved images").click()
    expect(page.locator("[data-run-publish-progress]")).to_contain_text("2 of 2 published", timeout=60000)
    assert Publication.objects.filter(target_format=formats[1]).count() == 2
    assert page.js_errors == []
