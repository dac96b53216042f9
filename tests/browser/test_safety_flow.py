"""Safety routing in real Chromium: a blocklisted prompt is refused before any money is spent, and a
"review" verdict sends the image to compliance after brand review instead of letting it be published.

Runs against the live server on PostgreSQL with a real Celery worker on Redis and the offline renderer.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from approvals.reviews.models import Review
from studio.core.models import AuditEvent, Workspace
from studio.generation.models import Campaign, GenerationJob, JobStatus, Variant, VariantStatus
from studio.safety.models import SafetyAssessment, SafetyRule, SafetyVerdict

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PRICE_PROMISE = "lowest price guaranteed"
PRICE_ADVICE = f'"{PRICE_PROMISE}" is a price promise. Compliance will check it can be substantiated before it runs.'


@pytest.fixture
def price_promise_rule(demo):
    """A rule for every sector whose verdict is "review": the demo workspace stays "General" (not regulated),
    so the only thing that can send its images to compliance is this verdict."""
    workspace = Workspace.objects.get(slug="demo")
    assert not workspace.is_regulated
    return SafetyRule.objects.create(
        sector="", category="price_claim", pattern=PRICE_PROMISE, verdict=SafetyVerdict.REVIEW, advice=PRICE_ADVICE
    )


def _screenshot(page, tmp_path, name):
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def _logout(page):
    page.context.clear_cookies()


def _new_draft(page, login, *, title: str, prompt: str):
    login(page, "marketer", "marketer-demo-pass")
    page.get_by_role("link", name="Spring launch").click()
    page.get_by_label("Title").fill(title)
    page.get_by_label("Prompt").fill(prompt)
    page.get_by_role("button", name="Create draft").click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    # One change at a time, each preview answered before the next, as a person would: a newer preview
    # request replaces (aborts) one still in flight, and htmx reports every abort on the console.
    plan = page.locator("#plan-preview")
    expect(plan).to_contain_text("Estimated cost")  # the preview made on page load has arrived
    with page.expect_response(lambda response: "/plan/" in response.url):
        page.get_by_label("Format").select_option(label="LinkedIn ad (1200x628)")
    with page.expect_response(lambda response: "/plan/" in response.url and "n=1" in response.url):
        page.get_by_label("Variants").fill("1")
        page.get_by_label("Variants").press("Tab")
    expect(plan).to_contain_text("1200x628")
    page.get_by_role("button", name="Generate variants").click()
    job_card = page.locator("article.job-card").first
    expect(job_card).to_be_visible()
    return job_card


def _generate_ready_variant(page, login, *, title: str, prompt: str) -> int:
    """Generate one variant and open its page once the image screening has finished."""
    job_card = _new_draft(page, login, title=title, prompt=prompt)
    expect(job_card.locator(".badge", has_text="Ready to submit")).to_have_count(1, timeout=60000)
    job_card.locator("a", has=page.locator("img")).click()
    expect(page.get_by_role("heading", name=re.compile(r"Variant #\d+"))).to_be_visible()
    return int(re.search(r"/variants/(\d+)/", page.url).group(1))


def _decide_in_queue(page, demo, *, variant_id: int, stage: str, note: str):
    page.goto(f"{demo.url}/reviews/")
    row = page.locator("tr.queue-row", has_text=f"#{variant_id}")
    expect(row).to_be_visible()
    expect(row).to_contain_text(stage)
    expect(row.locator(".badge", has_text="Review: brand + compliance")).to_be_visible()
    # A "review" image never offers the bulk-approve checkbox: it needs a look.
    expect(row.locator("input[type=checkbox]")).to_have_count(0)
    row.locator("a[data-open]").click()
    page.get_by_label("Approve", exact=True).check()
    page.get_by_label("Note or reason").fill(note)
    page.get_by_role("button", name="Record decision").click()
    expect(page.get_by_role("status").or_(page.locator(".alert-success"))).to_contain_text("Approve")


def test_a_blocklisted_prompt_is_refused_before_generation(page, demo, login, tmp_path):
    job_card = _new_draft(
        page, login, title="Taste test", prompt="Our lemon soda next to a can of CompetitorCo, ours clearly fizzier"
    )

    expect(job_card.locator(".badge", has_text="Blocked by safety")).to_be_visible(timeout=60000)
    alert = job_card.get_by_role("alert")
    expect(alert).to_contain_text("Blocked before generation")
    expect(alert).to_contain_text('"CompetitorCo" is on your brand\'s blocklist')
    expect(alert).to_contain_text("Remove it or choose different wording")
    expect(job_card.locator("img")).to_have_count(0)
    expect(job_card.locator(".thumb-placeholder")).to_have_count(0)  # nothing is "on its way"
    expect(job_card).to_contain_text("actual $0.00")
    shot = _screenshot(page, tmp_path, "blocked-prompt")
    assert shot.stat().st_size > 0
    assert not page.js_errors, page.js_errors

    job = GenerationJob.objects.get()
    assert job.status == JobStatus.BLOCKED
    assert job.error_code == "prompt_blocked"
    assert job.attempts == 0  # the image service was never called
    assert not Variant.objects.exists()
    campaign = Campaign.objects.get(pk=job.campaign_id)
    assert campaign.spent_cost == 0
    assert campaign.reserved_cost == 0
    assert job.actual_cost == 0
    screened = AuditEvent.objects.get(action="approvals.safety.screened")
    assert screened.data["stage"] == "prompt"
    assert screened.data["verdict"] == SafetyVerdict.BLOCK
    blocked = AuditEvent.objects.get(action="studio.job.blocked")
    assert blocked.data["stage"] == "prompt"
    assert "CompetitorCo" in blocked.data["message"]
    assert "nothing was charged" in blocked.data["message"]
    assert not AuditEvent.objects.filter(action__in=["studio.job.succeeded", "studio.variant.created"]).exists()
    local = SafetyAssessment.objects.get(job=job, stage="prompt", screener="local")
    assert local.verdict == SafetyVerdict.BLOCK
    assert [m["term"] for m in local.matches] == ["CompetitorCo"]


def test_a_review_verdict_goes_to_compliance_before_it_can_be_published(
    page, demo, login, price_promise_rule, tmp_path
):
    variant_id = _generate_ready_variant(
        page, login, title="Price badge", prompt=f"A can of lemon soda with a round badge: {PRICE_PROMISE}"
    )
    expect(page.locator(".badge", has_text="Safety: Review: brand + compliance")).to_be_visible()
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator(".badge", has_text="In review").first).to_be_visible()
    review = Review.objects.get(variant_id=variant_id)
    assert [(s.kind, s.status) for s in review.stages.order_by("order")] == [
        ("brand", "pending"),
        ("compliance", "waiting"),
    ]

    # Brand review approves: the image is not approved yet, compliance is next.
    _logout(page)
    login(page, "reviewer", "reviewer-demo-pass")
    _decide_in_queue(page, demo, variant_id=variant_id, stage="Brand review", note="On brand.")
    review.refresh_from_db()
    assert review.status == "open"
    assert [(s.kind, s.status) for s in review.stages.order_by("order")] == [
        ("brand", "approved"),
        ("compliance", "pending"),
    ]
    assert Variant.objects.get(pk=variant_id).status == VariantStatus.IN_REVIEW
    page.goto(f"{demo.url}/w/demo/variants/{variant_id}/")
    expect(page.locator(".badge", has_text="In review").first).to_be_visible()
    expect(page.get_by_role("link", name="Publish")).to_have_count(0)
    # The brand reviewer's queue no longer lists it: they decided a stage of this review already.
    page.goto(f"{demo.url}/reviews/")
    expect(page.locator("tr.queue-row", has_text=f"#{variant_id}")).to_have_count(0)

    # The compliance auditor finds it in their queue and approves.
    _logout(page)
    login(page, "compliance", "compliance-demo-pass")
    _decide_in_queue(
        page,
        demo,
        variant_id=variant_id,
        stage="Compliance review",
        note="Price promise checked against the price list.",
    )
    _screenshot(page, tmp_path, "compliance-approved")
    review.refresh_from_db()
    assert review.status == "approved"
    assert Variant.objects.get(pk=variant_id).status == VariantStatus.APPROVED

    # Now it is publishable: the marketer's variant page offers Publish, which leads to the publish form.
    _logout(page)
    login(page, "marketer", "marketer-demo-pass")
    page.goto(f"{demo.url}/w/demo/variants/{variant_id}/")
    expect(page.locator(".badge", has_text="Approved").first).to_be_visible()
    page.get_by_role("link", name="Publish").click()
    expect(page.get_by_role("button", name="Publish at exact size")).to_be_enabled()
    actions = list(AuditEvent.objects.filter(action__startswith="approvals.review.").values_list("action", flat=True))
    assert actions.count("approvals.review.submitted") == 1
    assert not page.js_errors, page.js_errors


def test_the_safety_panel_shows_each_screener_and_highlights_the_hit(page, demo, login, price_promise_rule, tmp_path):
    variant_id = _generate_ready_variant(
        page, login, title="Price badge", prompt=f"A can of lemon soda with a round badge: {PRICE_PROMISE}"
    )
    panel = page.locator("section", has=page.locator("#safety-panel-title"))
    expect(panel.locator("header")).to_contain_text("Brand review, then compliance")

    # The prompt with the hit highlighted; its advice is on the highlight.
    hit = panel.locator("p > mark.hit")
    expect(hit).to_have_count(1)
    expect(hit).to_have_text(PRICE_PROMISE)
    expect(hit).to_have_attribute("title", PRICE_ADVICE)
    expect(panel.locator("p:has(> mark.hit)")).to_contain_text("A can of lemon soda with a round badge:")

    # One row per screener and stage: local rules on the prompt (review, with the match and advice) and on
    # the image (which local rules cannot read, and say so).
    prompt_row = panel.get_by_role("article", name="Local rules, Prompt pre-screen")
    expect(prompt_row.locator("h3 .badge")).to_have_text("Review: brand + compliance")
    expect(prompt_row).to_contain_text(f"Decided by: local: all/price_claim: {PRICE_PROMISE}")
    expect(prompt_row.locator("li")).to_contain_text(PRICE_ADVICE)
    image_row = panel.get_by_role("article", name="Local rules, Image post-screen")
    expect(image_row.locator("h3 .badge")).to_have_text("Allow: brand review")
    expect(image_row).to_contain_text("Local rules read text only")
    expect(page.get_by_text("Only local rules ran: no hosted screener")).to_be_visible()
    _screenshot(page, tmp_path, "safety-panel")

    variant = Variant.objects.get(pk=variant_id)
    assert variant.safety_verdict == SafetyVerdict.REVIEW
    assert variant.status == VariantStatus.READY
    assert Campaign.objects.get(slug="spring-launch").spent_cost > Decimal(0)
    assert not page.js_errors, page.js_errors
