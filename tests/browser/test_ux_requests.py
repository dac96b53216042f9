"""Every htmx request shows its answer, and a decision can be undone (issue 14), in real Chromium.

- Each page that posts with htmx shows a refusal where it belongs (the form's own error, swapped in) and
  any other failure (403, 500, no answer) as an alert in the message region under the header.
- A refused Generate (a template variable left empty) says which variable is missing.
- "a" in the queue approves with a visible Undo that really reverts; shortcuts pressed while the next
  page loads do nothing.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from playwright.sync_api import expect

from approvals.reviews.models import Decision
from studio.generation import services as studio_services
from studio.generation.models import Campaign, Variant, VariantStatus
from tests.browser.test_review_flow import _submitted_reviews

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _draft(text: str, title: str = "Soda on a surface", variables: dict | None = None):
    marketer = get_user_model().objects.get(username="marketer")
    campaign = Campaign.objects.get(workspace__slug="demo", slug="spring-launch")
    return studio_services.draft_create(
        actor=marketer, campaign=campaign, title=title, text=text, variables=variables or {}
    )


def _fail_next(page, url_part: str, status: int, body: str = "", content_type: str = "text/html") -> None:
    """Answer the next request to ``url_part`` with ``status`` (the server is never asked)."""

    def handle(route):
        route.fulfill(status=status, body=body, content_type=content_type)

    page.route(re.compile(re.escape(url_part)), handle, times=1)


def _script_errors(page) -> list[str]:
    """Console errors other than the browser's own line for a non-2xx answer (expected here)."""
    return [e for e in page.js_errors if not e.startswith("Failed to load resource")]


def _request_alert(page):
    return page.locator("#request-messages [role=alert]")


def test_generate_with_an_empty_template_variable_is_held_back_with_the_reason(page, demo, login):
    """The page says which value is missing before anything is sent (the server's 422 for a stale page is
    covered by test_ux_flow's test_generate_refused_on_a_stale_page_still_says_which_value)."""
    draft = _draft("A cold lemon soda on a {surface}, morning light")
    login(page, "marketer", "marketer-demo-pass")
    page.goto(demo.url + reverse("studio:draft", args=["demo", draft.pk]))
    generate = page.get_by_role("button", name="Generate variants")
    expect(generate).to_be_disabled()
    expect(page.locator("#generate-values-note")).to_be_visible()
    expect(page.locator("#generate-values-note")).to_contain_text("{surface}")
    assert not Variant.objects.filter(draft=draft).exists()
    assert not _script_errors(page), page.js_errors


def test_generate_failing_on_the_server_shows_a_message(page, demo, login):
    draft = _draft("A cold lemon soda on a kitchen table")
    login(page, "marketer", "marketer-demo-pass")
    page.goto(demo.url + reverse("studio:draft", args=["demo", draft.pk]))
    _fail_next(page, reverse("studio:generate", args=["demo", draft.pk]), 500)
    page.get_by_role("button", name="Generate variants").click()
    expect(_request_alert(page)).to_contain_text("Something went wrong on our side (error 500)")
    # dismissible, and the page still works
    page.get_by_role("button", name="Dismiss this message").click()
    expect(_request_alert(page)).to_have_count(0)


def test_review_page_refusals_show_where_they_belong(page, demo, login):
    (review,) = _submitted_reviews(1, title="Refusals on the review page")
    login(page, "reviewer", "reviewer-demo-pass")
    page.goto(demo.url + reverse("approvals:review_detail", args=["demo", review.pk]))
    # a decision without its required reason: 422, the form's own error
    page.get_by_label("Reject", exact=True).check()
    page.get_by_role("button", name="Record decision").click()
    expect(page.locator("[data-decision-error]")).to_contain_text("reason")
    expect(page.locator("[data-decision-error]")).to_be_focused()
    # a blank comment (spaces pass the browser's "required"): 422 from the comment form, in the comments card
    page.get_by_label("Comment", exact=True).fill("   ")
    page.locator("#comment-form button[type=submit]").click()
    expect(page.locator("#comments [role=alert]")).to_be_visible()
    # a comment refused with 403 (e.g. the role was removed meanwhile): the 403 page's words
    _fail_next(
        page,
        reverse("approvals:comment_add", args=["demo", review.pk]),
        403,
        body=(
            "<!doctype html><html><body><main><h1>No</h1>"
            "<p data-error-message>Only members can comment here.</p></main></body></html>"
        ),
    )
    page.get_by_label("Comment", exact=True).fill("Nice light")
    page.locator("#comment-form button[type=submit]").click()
    expect(_request_alert(page)).to_contain_text("Only members can comment here.")
    # the decision endpoint unreachable
    _fail_next(page, reverse("approvals:review_decide", args=["demo", review.pk, review.stages.get().pk]), 502)
    page.get_by_label("Approve", exact=True).check()
    page.get_by_role("button", name="Record decision").click()
    expect(_request_alert(page)).to_contain_text("not answering")
    assert not Decision.objects.filter(stage__review=review).exists()


def test_queue_bulk_approve_refusals_show(page, demo, login):
    _submitted_reviews(1, title="Bulk refusal")
    login(page, "reviewer", "reviewer-demo-pass")
    page.goto(demo.url + reverse("approvals:queue"))
    page.get_by_role("button", name="Approve selected").click()
    expect(page.locator("#queue-region [role=alert]")).to_contain_text("Select at least one")
    page.locator('input[name="items"]').first.check()
    _fail_next(page, reverse("approvals:bulk_approve"), 500)
    page.get_by_role("button", name="Approve selected").click()
    expect(_request_alert(page)).to_contain_text("error 500")


def test_compliance_verify_failure_shows(page, demo, login):
    login(page, "compliance", "compliance-demo-pass")
    page.goto(demo.url + reverse("compliance:log"))
    button = page.locator("form[hx-post] button[type=submit]").first
    if not button.count():
        pytest.skip("the compliance log has no htmx form on this build")
    _fail_next(page, reverse("compliance:verify"), 429, body="Slow down", content_type="text/plain")
    button.click()
    expect(_request_alert(page)).to_contain_text("Slow down")


def test_a_lost_connection_shows_a_message(page, demo, login):
    draft = _draft("A cold lemon soda on a kitchen table", title="Offline")
    login(page, "marketer", "marketer-demo-pass")
    page.goto(demo.url + reverse("studio:draft", args=["demo", draft.pk]))
    page.route(re.compile(re.escape(reverse("studio:generate", args=["demo", draft.pk]))), lambda r: r.abort(), times=1)
    page.get_by_role("button", name="Generate variants").click()
    expect(_request_alert(page)).to_contain_text("Could not reach the server")


def test_quick_approve_can_be_undone_and_really_reverts(page, demo, login):
    (review,) = _submitted_reviews(1, title="Undo me")
    login(page, "reviewer", "reviewer-demo-pass")
    page.goto(demo.url + reverse("approvals:queue"))
    page.keyboard.press("j")
    page.keyboard.press("a")
    toast = page.locator(".undo-toast")
    expect(toast).to_contain_text("Approve: Undo me")
    expect(toast.get_by_role("button", name="Undo")).to_be_visible()
    assert Decision.objects.filter(stage__review=review).count() == 1
    toast.get_by_role("button", name="Undo").click()
    expect(page).to_have_url(re.compile(rf"/reviews/{review.pk}/"))
    expect(page.locator(".messages").first).to_contain_text("waiting for a decision again")
    assert not Decision.objects.filter(stage__review=review).exists()
    review.variant.refresh_from_db()
    assert review.variant.status == VariantStatus.IN_REVIEW
    assert not page.js_errors, page.js_errors


def test_undo_button_goes_away_after_the_window(page, demo, login):
    (review,) = _submitted_reviews(1, title="Too late")
    login(page, "reviewer", "reviewer-demo-pass")
    page.goto(demo.url + reverse("approvals:queue"))
    page.keyboard.press("j")
    page.keyboard.press("a")
    toast = page.locator(".undo-toast")
    expect(toast.get_by_role("button", name="Undo")).to_be_visible()
    expect(toast.get_by_role("button", name="Undo")).to_have_count(0, timeout=14000)
    assert Decision.objects.filter(stage__review=review).count() == 1


def test_shortcuts_are_ignored_while_the_next_page_loads(page, demo, login):
    first, second = _submitted_reviews(2, title="In flight")
    login(page, "reviewer", "reviewer-demo-pass")
    page.goto(demo.url + reverse("approvals:queue"))
    # Hold the approval's POST so the next keystrokes land while the navigation is in flight.
    held = []
    page.route(re.compile(r"/decide/$"), lambda route: held.append(route), times=1)
    page.keyboard.press("j")
    page.keyboard.press("a")  # approves the first; the redirect to the queue is held
    page.wait_for_timeout(300)
    page.keyboard.press("j")
    page.keyboard.press("a")  # ignored: a navigation is in flight
    page.wait_for_timeout(300)
    for route in held:
        route.continue_()
    expect(page.locator(".undo-toast")).to_be_visible()
    decided = Decision.objects.filter(stage__review__in=[first, second]).count()
    assert decided == 1
