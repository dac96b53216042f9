"""The happy path in real Chromium: draft -> 4 variants -> edit -> review -> publish -> history.

Runs against the live server on PostgreSQL with a real Celery worker on Redis.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from studio.generation.models import GenerationJob, Variant, VariantStatus
from tests.conftest import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _screenshot(page, tmp_path_factory, name):
    folder = tmp_path_factory.mktemp("screens", numbered=False) if not hasattr(_screenshot, "dir") else _screenshot.dir
    _screenshot.dir = folder
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def _generate_four(page, demo, login):
    login(page, "marketer", "marketer-demo-pass")
    expect(page.get_by_role("heading", name="Demo Brand")).to_be_visible()
    page.get_by_role("link", name="Spring launch").click()
    page.get_by_label("Title").fill("Lemon soda hero")
    page.get_by_label("Prompt").fill("A cold glass of lemon soda on a sunny kitchen table")
    page.get_by_label("In-image copy per locale").fill("en: Hello spring\nja: 春のセール")
    page.get_by_role("button", name="Create draft").click()
    expect(page.get_by_role("heading", name="Lemon soda hero")).to_be_visible()

    page.get_by_label("Format", exact=True).select_option(label="LinkedIn ad (1200x628)")
    page.get_by_label("Variants").fill("4")
    page.get_by_label("Variants").dispatch_event("change")
    plan = page.locator("#plan-preview")
    expect(plan).to_contain_text("1200x628")
    expect(plan).to_contain_text("Estimated cost")
    expect(plan).to_contain_text("Offline renderer")

    # Live previews must never leave the submit button disabled (htmx attribute inheritance once did).
    expect(page.get_by_role("button", name="Generate variants")).to_be_enabled()
    page.get_by_role("button", name="Generate variants").click()
    job_card = page.locator("article.job-card").first
    expect(job_card).to_be_visible()
    expect(job_card.locator("img")).to_have_count(4, timeout=60000)
    expect(job_card.locator(".badge", has_text="Ready to submit")).to_have_count(4, timeout=60000)
    return job_card


def test_marketer_generates_four_variants_with_progress_and_plan(page, demo, login, tmp_path_factory):
    job_card = _generate_four(page, demo, login)
    _screenshot(page, tmp_path_factory, "01-draft-with-variants")
    job = GenerationJob.objects.get()
    assert job.status == "succeeded"
    assert job.n == 4
    assert Variant.objects.filter(job=job).count() == 4
    assert "Offline renderer" in job_card.inner_text()
    assert not page.js_errors, page.js_errors


def test_marketer_edits_a_variant_and_sees_its_parent(page, demo, login, tmp_path_factory):
    job_card = _generate_four(page, demo, login)
    job_card.locator("a").first.click()
    expect(page.get_by_role("heading", name=re.compile(r"Variant #\d+"))).to_be_visible()
    base_id = int(re.search(r"/variants/(\d+)/", page.url).group(1))
    page.get_by_label("Instruction").fill("Make the sky warmer and add a soft lens flare")
    page.get_by_role("button", name="Create edited version").click()
    # The edit's progress shows in place, then the page moves to the new version with focus on its heading.
    page.wait_for_url(re.compile(rf"/variants/(?!{base_id}/)\d+/#variant-title$"), timeout=60000)
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    expect(page.locator(".lineage")).to_contain_text(f"#{base_id}")
    _screenshot(page, tmp_path_factory, "02-edited-variant")
    child = Variant.objects.exclude(pk=base_id).filter(parents__pk=base_id).get()
    wait_for(lambda: Variant.objects.get(pk=child.pk).status == VariantStatus.READY, timeout=60, message="screening")


def _logout(page):
    page.context.clear_cookies()


def test_submit_review_approve_publish_and_audit_history(page, demo, login, tmp_path_factory, settings):
    from PIL import Image

    from approvals.publishing.models import Publication
    from studio.core.models import AuditEvent

    job_card = _generate_four(page, demo, login)
    job_card.locator("a").first.click()
    variant_id = int(re.search(r"/variants/(\d+)/", page.url).group(1))
    # Step 3: submit, then the reviewer approves with a note.
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator(".badge", has_text="In review").first).to_be_visible()
    _logout(page)
    login(page, "reviewer", "reviewer-demo-pass")
    page.get_by_role("link", name="Review queue").click()
    row = page.locator("tr.queue-row", has_text=f"#{variant_id}")
    expect(row).to_be_visible()
    _screenshot(page, tmp_path_factory, "03-review-queue")
    row.locator("a[data-open]").click()
    page.get_by_label("Approve", exact=True).check()
    page.get_by_label("Note or reason").fill("On brand; colours match the guide.")
    page.get_by_role("button", name="Record decision").click()
    expect(page.get_by_role("status").or_(page.locator(".alert-success"))).to_contain_text("Approve")
    # Step 4: publish at the format's exact size; the publication page shows its URL.
    page.goto(f"{demo.url}/w/demo/variants/{variant_id}/")
    expect(page.locator(".badge", has_text="Approved").first).to_be_visible()
    page.get_by_role("link", name="Publish").click()
    # Publishing lives in the studio (issue 14): its own page, with Studio as the current section.
    expect(page).to_have_url(re.compile(rf"/w/demo/variants/{variant_id}/publish/$"))
    expect(page.get_by_role("heading", name=f"Publish variant #{variant_id}")).to_be_visible()
    expect(page.locator("[data-approved-by]")).to_contain_text("Approved by Rob Reviewer")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Studio")).to_have_attribute("aria-current", "true")
    expect(page.locator("[data-rendition-preview]").first).to_be_visible()
    _screenshot(page, tmp_path_factory, "04-approved")
    page.get_by_label("Format", exact=True).select_option(label="LinkedIn ad (1200x628)")
    page.get_by_role("button", name="Publish at exact size").click()
    page.wait_for_url(re.compile(r"/w/demo/publications/\d+/$"), timeout=60000)
    expect(page.get_by_role("heading", name=re.compile("Publi"))).to_be_visible(timeout=60000)
    expect(page.locator("body")).to_contain_text("1200", timeout=60000)
    expect(nav.get_by_role("link", name="Studio")).to_have_attribute("aria-current", "true")
    publication = wait_for(
        lambda: Publication.objects.filter(variant_id=variant_id).first(), timeout=60, message="the publication"
    )
    expect(page.get_by_label("Public URL")).to_have_value(re.compile(re.escape(publication.file.url) + "$"))
    with publication.file.open("rb") as fh, Image.open(fh) as img:
        assert img.size == (1200, 628)
    _screenshot(page, tmp_path_factory, "05-published")
    # Step 5: the compliance auditor reads the variant's history with actor and time for every step.
    _logout(page)
    login(page, "compliance", "compliance-demo-pass")
    page.goto(f"{demo.url}/compliance/variants/{variant_id}/")
    history = page.locator("body")
    for username in ("Mia Marketer", "Rob Reviewer"):
        expect(history).to_contain_text(username)
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "studio.job.created",
        "studio.variant.created",
        "approvals.review.submitted",
        "approvals.publication.created",
    } <= actions
    _screenshot(page, tmp_path_factory, "06-history")
    assert not page.js_errors, page.js_errors
