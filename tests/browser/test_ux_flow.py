"""Issue 14, as a marketer and an admin see it in real Chromium (1280 px and 390 px, screenshots saved):

- picking a template shows its text and one labelled field per {placeholder}; the JSON follows the fields
  and the fields follow the JSON; Generate stays disabled, saying why, while a value is missing;
- the version tree keeps one card width at every depth (the indent stops; no widening) and names a job's
  cost once;
- the version diff marks words and lists template values by name;
- the login page's demo table fits, and axe finds nothing serious on it or on the admin pages the app
  customises (workspace with its membership inline, the changelists, breadcrumbs).

Screenshots go to ``$IMPRIMATUR_VAR_DIR/screenshots`` (or a pytest temp dir).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from playwright.sync_api import expect

from studio.core.models import Workspace
from studio.generation import services as studio_services
from studio.generation.models import Campaign, Deployment, PromptDraft
from tests.browser.test_edit_studio import _wait_ready
from tests.browser.test_review_flow import _submitted_reviews
from tests.browser.test_ux_roles import WIDTHS, _axe_serious, _check_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _marketer():
    return get_user_model().objects.get(username="marketer")


def _campaign():
    return Campaign.objects.get(workspace__slug="demo", slug="spring-launch")


def _shoot(page, shots: Path, name: str) -> None:
    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(shots / f"{name}-{label}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} scrolls sideways at {width}"
    page.set_viewport_size({"width": 1280, "height": 900})


# --- templates -----------------------------------------------------------------------------------------


def test_picking_a_template_shows_its_text_and_a_field_per_placeholder(page, demo, login, shots):
    login(page, "marketer", "marketer-demo-pass")
    page.goto(demo.url + reverse("studio:campaign", args=["demo", "spring-launch"]))
    page.get_by_label("Title").fill("Hero from a template")
    page.get_by_label("Start from template").select_option(label="Product hero")
    preview = page.locator("[data-template-preview]")
    expect(preview).to_be_visible()
    expect(preview).to_contain_text("A {product} on a {surface}, centred")
    expect(preview.locator("code.template-placeholder")).to_have_text(["{product}", "{surface}"])
    product = page.get_by_label("Product {product}")
    surface = page.get_by_label("Surface {surface}")
    expect(product).to_be_visible()
    expect(surface).to_be_visible()
    # Submitting with a value missing is stopped on the page, with the reason by the field.
    product.fill("lemon soda")
    page.get_by_role("button", name="Create draft").click()
    expect(surface).to_be_focused()
    expect(page.locator("#id_value__surface_error")).to_have_text(
        "Fill in a value for {surface}, or take {surface} out of the prompt."
    )
    expect(surface).to_have_attribute("aria-invalid", "true")
    assert not PromptDraft.objects.filter(title="Hero from a template").exists()
    surface.fill("marble table")
    # The advanced JSON follows the fields.
    page.get_by_text("Advanced: all values as JSON").click()
    assert json.loads(page.get_by_label("All values as JSON").input_value()) == {
        "product": "lemon soda",
        "surface": "marble table",
    }
    _shoot(page, shots, "template-picked")
    page.get_by_role("button", name="Create draft").click()
    page.wait_for_url("**/drafts/*/")
    draft = PromptDraft.objects.get(title="Hero from a template")
    version = draft.versions.get()
    assert version.variables == {"product": "lemon soda", "surface": "marble table"}
    assert version.text.startswith("A {product} on a {surface}, centred")
    assert not [e for e in page.js_errors if not e.startswith("Failed to load resource")], page.js_errors


def test_generate_waits_for_every_value_and_says_which(page, demo, login, shots):
    draft = studio_services.draft_create(
        actor=_marketer(),
        campaign=_campaign(),
        title="Soda on a surface",
        text="A cold lemon soda on a {surface}, {light} light",
        variables={"light": "morning"},
    )
    login(page, "marketer", "marketer-demo-pass")
    page.goto(demo.url + reverse("studio:draft", args=["demo", draft.pk]))
    generate = page.get_by_role("button", name="Generate variants")
    expect(generate).to_be_disabled()
    note = page.locator("#generate-values-note")
    expect(note).to_contain_text("Fill in {surface}")
    surface = page.get_by_label("Surface {surface}")
    expect(page.get_by_label("Light {light}")).to_have_value("morning")
    expect(page.locator("[data-values-status]")).to_have_text("1 of 2 values filled in; missing: surface.")
    _shoot(page, shots, "draft-values-missing")
    # Filled in but not saved: Generate would use the saved version, so it still waits, and says so.
    surface.fill("marble table")
    expect(note).to_contain_text("Save a new version")
    expect(generate).to_be_disabled()
    # Editing the JSON moves the field too.
    page.get_by_text("Advanced: all values as JSON").click()
    page.get_by_label("All values as JSON").fill('{"surface": "oak table", "light": "evening"}')
    expect(surface).to_have_value("oak table")
    expect(page.get_by_label("Light {light}")).to_have_value("evening")
    # A new placeholder typed in the prompt gets its own field at once.
    prompt = page.get_by_role("textbox", name="Prompt")
    prompt.fill("A cold lemon soda on a {surface}, {light} light, with {garnish}")
    expect(page.get_by_label("Garnish {garnish}")).to_be_visible()
    expect(generate).to_be_disabled()
    page.get_by_label("Garnish {garnish}").fill("mint")
    page.get_by_role("button", name="Save new version").click()
    page.wait_for_load_state("networkidle")
    version = draft.versions.order_by("-number").first()
    assert version.number == 2
    assert version.variables == {"surface": "oak table", "light": "evening", "garnish": "mint"}
    expect(page.get_by_role("button", name="Generate variants")).to_be_enabled()
    expect(page.locator("#generate-values-note")).to_be_hidden()
    assert not [e for e in page.js_errors if not e.startswith("Failed to load resource")], page.js_errors


def test_generate_refused_on_a_stale_page_still_says_which_value(page, demo, login):
    """The server checks again: a page drawn while every value was saved, then a newer version saved
    elsewhere without one, gets the refusal in the Generate panel (not a silent 422)."""
    marketer = _marketer()
    draft = studio_services.draft_create(
        actor=marketer, campaign=_campaign(), title="Stale", text="A soda on a {surface}", variables={"surface": "oak"}
    )
    login(page, "marketer", "marketer-demo-pass")
    page.goto(demo.url + reverse("studio:draft", args=["demo", draft.pk]))
    generate = page.get_by_role("button", name="Generate variants")
    expect(generate).to_be_enabled()
    studio_services.draft_version_add(
        actor=marketer, draft=draft, text="A soda on a {surface} with {garnish}", variables={"surface": "oak"}
    )
    generate.click()
    error = page.locator("#generate-panel .alert-error").first
    expect(error).to_contain_text("Fill in every template variable first: garnish")
    assert not draft.variants.exists()


# --- version tree and diff -----------------------------------------------------------------------------


def _wait_for_variants(job, count: int, timeout: float = 90.0) -> list:
    """The real worker runs the job: wait until its images are stored."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        variants = list(job.variants.order_by("index"))
        if len(variants) >= count:
            return [_wait_ready(v.pk) for v in variants]
        time.sleep(0.5)
    job.refresh_from_db()
    raise AssertionError(f"job {job.pk} made no images in time: {job.status} {job.error_message}")


def _deep_tree():
    marketer = _marketer()
    draft = studio_services.draft_create(
        actor=marketer,
        campaign=_campaign(),
        title="Deep tree",
        text="A glass of {product}",
        variables={"product": "soda"},
    )
    deployment = Deployment.objects.get(workspace__slug="demo", is_default=True)
    request = studio_services.LaunchRequest(
        deployment=deployment, target_width=512, target_height=512, n=3, quality="low"
    )
    job = studio_services.job_launch(actor=marketer, version=draft.versions.get(), request=request)
    chain = [_wait_for_variants(job, 3)[0]]
    for step in range(5):
        edit = studio_services.variant_edit(actor=marketer, variant=chain[-1], instruction=f"Step {step}: warmer")
        chain.append(_wait_for_variants(edit, 1)[0])
    return draft, job, chain


def test_version_tree_cards_keep_their_width_however_deep(page, demo, login, shots):
    draft, job, chain = _deep_tree()
    login(page, "marketer", "marketer-demo-pass")
    page.goto(demo.url + reverse("studio:draft_tree", args=["demo", draft.pk]))
    cards = page.locator(".tree-card")
    expect(cards).to_have_count(6)  # one per job: the root's 3 images share one card
    expect(cards.first).to_contain_text("cost")
    expect(cards.first).to_contain_text("for all 3")
    expect(cards.first).not_to_contain_text("Brand style")
    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        boxes = [cards.nth(i).bounding_box() for i in range(6)]
        rights = [b["x"] + b["width"] for b in boxes]
        lefts = [b["x"] for b in boxes]
        # Never wider than the root card, never past it on the right.
        assert max(rights) <= rights[0] + 1, (label, rights)
        # The indent stops growing: the deepest cards start where the fourth level does.
        assert lefts[-1] == pytest.approx(lefts[-2], abs=1) == pytest.approx(lefts[3], abs=1), (label, lefts)
        assert lefts[1] > lefts[0]
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(shots / f"version-tree-{label}.png"), full_page=True)
        assert not _axe_serious(page)


def test_version_diff_marks_words_and_lists_values_by_name(page, demo, login, shots):
    marketer = _marketer()
    draft = studio_services.draft_create(
        actor=marketer,
        campaign=_campaign(),
        title="Diffed",
        text="A cold {product} on a {surface}, morning light",
        variables={"product": "lemon soda", "surface": "marble table"},
    )
    studio_services.draft_version_add(
        actor=marketer,
        draft=draft,
        text="A chilled {product} on a rustic {surface}, golden evening light",
        variables={"product": "lime soda", "surface": "marble table", "mood": "calm"},
    )
    login(page, "marketer", "marketer-demo-pass")
    page.goto(demo.url + reverse("studio:draft", args=["demo", draft.pk]))
    page.get_by_text("History (2 versions)").click()
    page.get_by_role("link", name="Compare version 2 with version 1").click()
    diff = page.locator("#version-diff")
    expect(diff.locator("[data-diff-text] del")).to_have_text(["[removed: cold]", "[removed: morning]"])
    expect(diff.locator("[data-diff-text] ins").first).to_have_text("[added: chilled]")
    expect(diff.locator("[data-diff-text] del .visually-hidden").first).to_be_attached()
    rows = diff.locator("[data-diff-variables] li")
    expect(rows).to_have_count(2)  # surface did not change
    expect(rows.nth(0)).to_contain_text("Changed")
    expect(rows.nth(0)).to_contain_text("product")
    expect(rows.nth(1)).to_contain_text("Added")
    expect(rows.nth(1)).to_contain_text("mood")
    page.goto(demo.url + reverse("studio:draft_version_diff", args=["demo", draft.pk, 2]))
    _shoot(page, shots, "version-diff")
    assert not _axe_serious(page)


# --- @mentions ----------------------------------------------------------------------------------------------


def test_a_mention_in_a_review_comment_lands_in_the_inbox_of_the_person_named(chromium, demo, login):
    (review,) = _submitted_reviews(1, title="Mentioned soda")
    reviewer = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = reviewer.new_page()
    login(page, "reviewer", "reviewer-demo-pass")
    page.goto(demo.url + reverse("approvals:review_detail", args=["demo", review.pk]))
    page.get_by_label("Comment", exact=True).fill("@marketer the glass needs more ice; @nobody can you check?")
    page.locator("#comment-form button[type=submit]").click()
    expect(page.locator("#comments")).to_contain_text("the glass needs more ice")
    reviewer.close()
    marketer = chromium.new_context(viewport={"width": 390, "height": 844})
    page = marketer.new_page()
    login(page, "marketer", "marketer-demo-pass")
    page.goto(demo.url + reverse("approvals:inbox"))
    notice = page.get_by_text("reviewer mentioned you on variant")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("the glass needs more ice")
    marketer.close()


# --- login page and admin --------------------------------------------------------------------------------


def test_login_demo_table_fits_at_both_widths(chromium, demo, shots, settings):
    settings.IMPRIMATUR_SHOW_DEMO_LOGINS = True  # as in `make run`; read per request
    context = chromium.new_context()
    page = context.new_page()
    page.goto(demo.url + reverse("login"))
    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        table = page.locator("table").first
        expect(table).to_be_visible()
        clipped = page.evaluate(
            """() => [...document.querySelectorAll('table th, table td')]
                .filter(c => !c.closest('.visually-hidden'))
                .filter(c => c.scrollWidth > c.clientWidth + 1 || c.getBoundingClientRect().right >
                             c.closest('table').parentElement.getBoundingClientRect().right + 1)
                .map(c => c.textContent.trim())"""
        )
        assert clipped == [], (label, clipped)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(shots / f"login-demo-table-{label}.png"), full_page=True)
    context.close()


def test_admin_pages_the_app_customises_have_no_serious_axe_violations(page, demo, login, shots):
    workspace = Workspace.objects.get(slug="demo")
    campaign = _campaign()
    deployment = Deployment.objects.get(workspace=workspace, is_default=True)
    login(page, "admin", "admin-demo-pass")
    pages = {
        "admin-index": reverse("admin:index"),
        "admin-workspaces": reverse("admin:core_workspace_changelist"),
        "admin-workspace-change": reverse("admin:core_workspace_change", args=[workspace.pk]),
        "admin-memberships": reverse("admin:core_membership_changelist"),
        "admin-campaign-change": reverse("admin:studio_campaign_change", args=[campaign.pk]),
        "admin-deployment-change": reverse("admin:studio_deployment_change", args=[deployment.pk]),
        "admin-stage-policy-add": reverse("admin:approvals_stagepolicy_add"),
    }
    problems: list[str] = []
    for name, url in pages.items():
        _check_page(page, demo.url + url, name, shots, problems)
    assert not problems, "\n".join(problems)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(demo.url + pages["admin-workspace-change"])
    # Each membership row's controls have their own name (a column header far above is no label).
    expect(page.get_by_label("Role, row 1", exact=True)).to_have_value("marketer")
    expect(page.get_by_label("User, row 2", exact=True)).to_be_visible()
    expect(page.get_by_label(re.compile(r"^Delete marketer"))).to_be_visible()
    # The breadcrumb links are underlined, not told apart by colour alone.
    crumb = page.locator("div.breadcrumbs a").first
    assert "underline" in crumb.evaluate("e => getComputedStyle(e).textDecorationLine")
