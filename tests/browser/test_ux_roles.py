"""Each role's main pages in real Chromium, at 1280 px and at 390 px (a phone): no serious or critical
axe-core violations, nothing wider than the screen, the decision in the first screen of the review page
on a phone, each role landing where its work is, and a screenshot of every page for people to look at.

axe-core is vendored under tests/browser/vendor/ (tests only; never served). Screenshots go to
``$IMPRIMATUR_VAR_DIR/screenshots`` (the suite's temp dir), or a pytest temp dir.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from approvals.reviews import services as approvals_services
from studio.generation.models import Campaign
from tests.browser.test_review_flow import _submitted_reviews

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


def _axe_serious(page) -> list[str]:
    # Through the DevTools protocol, not a <script> tag: the app's CSP rightly refuses inline scripts.
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;void 0")
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ["violations"]});
            return r.violations.filter(v => v.impact === "serious" || v.impact === "critical")
              .map(v => ({id: v.id, impact: v.impact, help: v.help,
                          nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
        }"""
    )
    return [json.dumps(v) for v in result]


def _check_page(page, url: str, name: str, shots: Path, problems: list[str]) -> None:
    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.goto(url)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(shots / f"{name}-{label}.png"), full_page=True)
        if label == "phone":
            scroll = page.evaluate("document.documentElement.scrollWidth")
            if scroll > width:
                wide = page.evaluate(
                    """(w) => [...document.querySelectorAll('body *')]
                        .filter(e => e.getBoundingClientRect().right > w + 1)
                        .slice(0, 5)
                        .map(e => e.tagName.toLowerCase() + (e.className ? "." + String(e.className) : ""))""",
                    width,
                )
                problems.append(f"{name} at {width}px scrolls sideways ({scroll}px): {wide}")
        for violation in _axe_serious(page):
            problems.append(f"{name} ({label}): {violation}")


def _pages_of_a_review(review) -> dict[str, str]:
    slug = review.workspace.slug
    variant = review.variant
    return {
        "review": reverse("approvals:review_detail", args=[slug, review.pk]),
        "variant": reverse("studio:variant", args=[slug, variant.pk]),
        "draft": reverse("studio:draft", args=[slug, variant.draft_id]),
        "trail": reverse("compliance:trail", args=[slug, variant.pk]),
    }


def test_each_roles_main_pages_are_accessible_fit_a_phone_and_are_screenshotted(chromium, demo, shots, login):
    from django.contrib.auth import get_user_model

    first, second = _submitted_reviews(2, title="Lemon soda at breakfast")
    reviewer = get_user_model().objects.get(username="reviewer")
    approvals_services.comment_add(
        actor=reviewer, variant=first.variant, text="The logo is too small", box=(0.1, 0.1, 0.3, 0.2)
    )
    approvals_services.review_decide(
        actor=reviewer,
        stage=first.stages.get(kind="brand"),
        outcome="request_changes",
        note="Make the logo larger and the glass colder.",
        expected_sha256=first.variant_sha256,
    )
    pages = _pages_of_a_review(first)
    campaign = Campaign.objects.get(workspace__slug="demo", slug="spring-launch")
    workspace_url = reverse("studio:workspace", args=["demo"])
    by_role = {
        "marketer": {
            "workspace": workspace_url,
            "campaign": reverse("studio:campaign", args=["demo", campaign.slug]),
            "draft": pages["draft"],
            "variant": pages["variant"],
            "inbox": reverse("approvals:inbox"),
        },
        "reviewer": {
            "queue": reverse("approvals:queue"),
            "review": reverse("approvals:review_detail", args=["demo", second.pk]),
            "inbox": reverse("approvals:inbox"),
        },
        "compliance": {"log": reverse("compliance:log"), "trail": pages["trail"]},
        "admin": {"workspace": workspace_url, "queue": reverse("approvals:queue"), "log": reverse("compliance:log")},
    }
    problems: list[str] = []
    anonymous = chromium.new_context()
    page = anonymous.new_page()
    _check_page(page, demo.url + reverse("login"), "login", shots, problems)
    anonymous.close()
    for role, role_pages in by_role.items():
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        login(page, role, f"{role}-demo-pass")
        for name, url in role_pages.items():
            _check_page(page, demo.url + url, f"{role}-{name}", shots, problems)
        context.close()
    assert not problems, "\n".join(problems)


def test_each_role_lands_where_its_work_is_and_sees_only_its_links(chromium, demo, login):
    expected = {
        "reviewer": (r"/reviews/$", {"Review queue", "Inbox"}, {"Compliance", "Costs"}),
        "compliance": (r"/compliance/$", {"Compliance", "Review queue", "Inbox"}, {"Costs"}),
        "marketer": (r"/w/demo/", {"Studio", "Inbox", "Costs"}, {"Review queue", "Compliance"}),
    }
    for role, (landing, shown, hidden) in expected.items():
        context = chromium.new_context()
        page = context.new_page()
        login(page, role, f"{role}-demo-pass")
        expect(page).to_have_url(re.compile(landing))
        nav = page.get_by_role("navigation", name="Main")
        for label in shown:
            expect(nav.get_by_role("link", name=re.compile(rf"^{label}"))).to_be_visible()
        for label in hidden:
            expect(nav.get_by_role("link", name=re.compile(rf"^{label}"))).to_have_count(0)
        # the studio is still one click away
        nav.get_by_role("link", name="Studio").click()
        expect(page).to_have_url(re.compile(r"/w/demo/"))
        context.close()


def test_phone_review_page_shows_the_decision_in_the_first_screen(chromium, demo, login):
    (review,) = _submitted_reviews(1, title="Phone review")
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    login(page, "reviewer", "reviewer-demo-pass")
    page.goto(demo.url + reverse("approvals:review_detail", args=["demo", review.pk]))
    button = page.get_by_role("button", name="Record decision")
    box = button.bounding_box()
    assert box is not None
    assert box["y"] + box["height"] <= 844, box
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # the queue is a list of cards with the verdict and the due date visible without sideways scrolling
    page.goto(demo.url + reverse("approvals:queue"))
    row = page.locator("tr.queue-row").first
    for column in ("Verdict", "Due"):
        cell = row.locator(f"td[data-label='{column}']")
        expect(cell).to_be_visible()
        cell_box = cell.bounding_box()
        assert cell_box["x"] + cell_box["width"] <= 390, (column, cell_box)
    nav = page.get_by_role("navigation", name="Main")
    inbox = nav.get_by_role("link", name=re.compile("^Inbox"))
    inbox_box = inbox.bounding_box()
    assert inbox_box["x"] + inbox_box["width"] <= 390, inbox_box
    context.close()


def test_marketer_sees_the_feedback_on_the_variant_and_fixes_it_from_there(page, demo, login):
    from django.contrib.auth import get_user_model

    (review,) = _submitted_reviews(1, title="Feedback where I work")
    reviewer = get_user_model().objects.get(username="reviewer")
    approvals_services.comment_add(
        actor=reviewer, variant=review.variant, text="Logo too small here", box=(0.2, 0.2, 0.3, 0.2)
    )
    approvals_services.review_decide(
        actor=reviewer,
        stage=review.stages.get(kind="brand"),
        outcome="request_changes",
        note="Make the logo larger.",
        expected_sha256=review.variant_sha256,
    )
    login(page, "marketer", "marketer-demo-pass")
    page.goto(demo.url + reverse("studio:variant", args=["demo", review.variant_id]))
    panel = page.locator("#feedback")
    expect(panel).to_contain_text("Changes requested")
    expect(panel).to_contain_text("Make the logo larger.")
    expect(panel).to_contain_text("Logo too small here")
    # the pin is drawn on the image, over the area the reviewer marked
    image = page.locator(".figure-frame img").first
    pin = page.locator(".figure-frame .comment-pin").first
    expect(pin).to_be_visible()
    ibox, pbox = image.bounding_box(), pin.bounding_box()
    centre_x = (pbox["x"] + pbox["width"] / 2 - ibox["x"]) / ibox["width"]
    assert abs(centre_x - 0.2) < 0.05, centre_x
    panel.get_by_role("link", name=re.compile("^Fix this")).first.click()
    expect(page.get_by_label("Instruction")).to_have_value(re.compile("Make the logo larger"))
    assert not page.js_errors, page.js_errors
