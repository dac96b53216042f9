"""The variant page's edit studio as a marketer uses it (issue 14), in Chromium against the real app: painting
on the large image with keyboard zoom and pan, reference uploads previewed before sending, and staying with
the work after an edit (progress in place, then the new version with focus on it).

Runs against the live server on PostgreSQL with a real Celery worker on Redis and the offline renderer.
Screenshots at 1280 and 390 px go to ``$IMPRIMATUR_VAR_DIR/screenshots`` (or a pytest temp dir).
"""

from __future__ import annotations

import re
import threading

import pytest
from django.db import connection, transaction
from playwright.sync_api import expect

from studio.generation.models import JobStatus, Operation, PromptDraft, Variant
from tests.browser.test_edit_studio import _generate, _js_errors, _open, _png, _wait_job

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
PROGRESS = re.compile(r"/variants/\d+/progress/")


def _client_point(page, base: Variant, x: float, y: float) -> tuple[float, float]:
    """Where image pixel (x, y) is on screen now, whatever the zoom and pan."""
    box = page.locator("[data-mask-canvas]").bounding_box()
    return box["x"] + x * box["width"] / base.width, box["y"] + y * box["height"] / base.height


def _no_sideways_scroll(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page scrolls sideways"


def test_paint_on_the_large_image_with_zoom_then_land_on_the_new_version(page, demo, login, shots):
    (base_id,) = _generate(page, login)
    base = Variant.objects.get(pk=base_id)
    page.goto(f"{demo.url}/w/demo/variants/{base_id}/")
    figure = page.locator("figure[data-mask-view]")
    expect(figure).to_be_visible()
    expect(page.get_by_role("toolbar", name="Mask tools")).to_be_hidden()

    page.get_by_role("button", name="Paint the area to change").click()
    expect(figure).to_be_hidden()
    stage = page.get_by_role("group", name=re.compile(r"^The image to paint on"))
    expect(stage).to_be_focused()
    expect(page.get_by_role("toolbar", name="Mask tools")).to_be_visible()
    # The large image, not a sidebar thumbnail: the main column's width.
    canvas_box = page.locator("[data-mask-canvas]").bounding_box()
    assert canvas_box["width"] > 600, canvas_box
    assert page.locator("[data-mask-canvas]").evaluate("c => [c.width, c.height]") == [base.width, base.height]

    # Keyboard zoom: + twice (156%), - once, + again; arrows pan while zoomed.
    painter = page.locator("[data-mask-painter]")
    page.keyboard.press("+")
    page.keyboard.press("+")
    expect(painter).to_have_attribute("data-zoom", "156")
    page.keyboard.press("-")
    expect(painter).to_have_attribute("data-zoom", "125")
    page.keyboard.press("+")
    expect(page.locator("[data-zoom-level]")).to_have_text("156%")
    zoomed = page.locator("[data-mask-canvas]").bounding_box()
    assert zoomed["width"] == pytest.approx(canvas_box["width"] * 1.5625, rel=0.01)
    before = zoomed["x"]
    page.keyboard.press("ArrowRight")
    assert page.locator("[data-mask-canvas]").bounding_box()["x"] == pytest.approx(before - 40, abs=1)

    # One stroke across the middle of the image, drawn with the mouse on the zoomed image.
    page.get_by_label("Brush size").fill(str(max(8, base.width // 20)))
    stage.focus()
    y = base.height * 0.5
    start = _client_point(page, base, base.width * 0.42, y)
    end = _client_point(page, base, base.width * 0.58, y)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=15)
    page.mouse.up()
    expect(painter).to_have_attribute("data-mask-state", "partial")
    expect(page.locator("[data-mask-summary-for]")).to_contain_text("Painted area: about")

    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(shots / f"edit-canvas-painting-{label}.png"), full_page=True)
        if label == "phone":
            _no_sideways_scroll(page, width)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.keyboard.press("0")
    expect(painter).to_have_attribute("data-zoom", "100")
    page.get_by_label("Instruction").fill("Put a slice of lemon here")
    page.get_by_role("button", name="Create edited version").click()

    # Progress in place on the page the edit started from, then the new version, with focus on its heading.
    job = _wait_job(operation=Operation.INPAINT, base_variant_id=base_id)
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    child = job.variants.get()
    page.wait_for_url(f"**/w/demo/variants/{child.pk}/#variant-title", timeout=60000)
    heading = page.get_by_role("heading", level=1, name=f"Variant #{child.pk}")
    expect(heading).to_be_focused()
    # Its safety check finishes on this page without a reload: badges and actions update, focus stays.
    expect(page.locator("#variant-badges")).to_contain_text("Ready to submit", timeout=60000)
    expect(page.get_by_role("button", name="Submit for review")).to_be_visible()
    expect(heading).to_be_focused()
    page.screenshot(path=str(shots / "edit-canvas-landed-desktop.png"), full_page=True)
    # Back returns to the page the edit started from, which stays there (no second landing).
    page.go_back()
    page.wait_for_url(f"**/w/demo/variants/{base_id}/")
    page.wait_for_timeout(1500)
    assert page.url.endswith(f"/w/demo/variants/{base_id}/")

    # The mask sent has the image's real size, painted (alpha 0) where the stroke went, kept elsewhere.
    mask = _open(job.mask)
    assert mask.size == (base.width, base.height)
    alpha = mask.getchannel("A")
    for fx in (0.45, 0.5, 0.55):
        assert alpha.getpixel((int(base.width * fx), int(y))) == 0, f"painted at {fx:.0%} across"
    for point in ((0.5, 0.2), (0.5, 0.8), (0.2, 0.5), (0.8, 0.5)):
        assert alpha.getpixel((int(base.width * point[0]), int(base.height * point[1]))) == 255, point
    assert not _js_errors(page), page.js_errors


def _hold_progress_polls(page) -> list:
    """Hold the progress card's polls until the test lets them through, so a fast worker cannot finish
    the edit before the test has looked at (or typed on) the page it started from."""
    held: list = []

    def hold(route):
        held.append(route)

    page.route(PROGRESS, hold)
    return held


def _release(page, held: list) -> None:
    page.unroute(PROGRESS)
    for route in held:
        route.continue_()


class _RecordHold(threading.Thread):
    """Holds the draft's row ``FOR UPDATE``, so the worker's record of the edit (its new variant refers to
    the draft: a foreign-key check at COMMIT) waits until released. The progress page must render while
    the edit is still running: a job finished before the page loaded lands at once, rightly, and a fast
    worker would have the test typing on the new version instead."""

    def __init__(self, variant_id: int) -> None:
        super().__init__(daemon=True)
        self.draft_id = Variant.objects.values_list("draft_id", flat=True).get(pk=variant_id)
        self.locked, self.release = threading.Event(), threading.Event()

    def run(self) -> None:
        try:
            with transaction.atomic():
                PromptDraft.objects.select_for_update().filter(pk=self.draft_id).first()
                self.locked.set()
                self.release.wait(60)
        finally:
            connection.close()


def _hold_the_record(variant_id: int) -> _RecordHold:
    hold = _RecordHold(variant_id)
    hold.start()
    assert hold.locked.wait(10)
    return hold


def _let_the_job_finish(hold: _RecordHold) -> None:
    hold.release.set()
    hold.join(10)


def test_progress_shows_in_place_with_focus_then_lands(page, demo, login):
    (base_id,) = _generate(page, login)
    page.goto(f"{demo.url}/w/demo/variants/{base_id}/")
    held = _hold_progress_polls(page)
    hold = _hold_the_record(base_id)
    page.get_by_label("Instruction").fill("Make the glass colder")
    page.get_by_role("button", name="Create edited version").click()
    page.wait_for_url(re.compile(rf"/w/demo/variants/{base_id}/\?started=\d+#edit-progress$"))
    card = page.locator("#edit-progress")
    expect(card).to_be_focused()
    expect(card.get_by_role("heading", name="Your edit")).to_be_visible()
    expect(page.locator(".alert-success")).to_contain_text("the new version opens here as soon as it is ready")
    _let_the_job_finish(hold)
    job = _wait_job(operation=Operation.EDIT, base_variant_id=base_id)
    child = job.variants.get()
    _release(page, held)
    page.wait_for_url(f"**/variants/{child.pk}/#variant-title", timeout=60000)
    expect(page.get_by_role("heading", level=1, name=f"Variant #{child.pk}")).to_be_focused()
    assert not _js_errors(page), page.js_errors


def test_someone_still_typing_is_told_and_keeps_their_place(page, demo, login):
    (base_id,) = _generate(page, login)
    page.goto(f"{demo.url}/w/demo/variants/{base_id}/")
    held = _hold_progress_polls(page)
    hold = _hold_the_record(base_id)
    page.get_by_label("Instruction").fill("Warmer light")
    page.get_by_role("button", name="Create edited version").click()
    page.wait_for_url(re.compile(r"\?started=\d+#edit-progress$"))
    # Typing the next instruction at once: the page must not move away under the keyboard.
    page.get_by_label("Instruction").fill("and a second lemon")
    _let_the_job_finish(hold)
    job = _wait_job(operation=Operation.EDIT, base_variant_id=base_id)
    child = job.variants.get()
    _release(page, held)
    link = page.get_by_role("link", name=f"Open version #{child.pk}")
    expect(link).to_be_visible(timeout=60000)
    expect(page.locator("#progress-announcer")).to_contain_text(f"Version #{child.pk} is ready")
    assert f"/variants/{base_id}/" in page.url
    expect(page.get_by_label("Instruction")).to_be_focused()
    expect(page.get_by_label("Instruction")).to_have_value("and a second lemon")
    assert not _js_errors(page), page.js_errors


def test_reference_uploads_are_previewed_and_can_be_removed(page, demo, login, shots):
    (base_id,) = _generate(page, login)
    page.goto(f"{demo.url}/w/demo/variants/{base_id}/")
    page.get_by_text("Reference images (optional)").click()
    upload = page.get_by_label("Upload reference images")
    upload.set_input_files(
        [
            {"name": "product.png", "mimeType": "image/png", "buffer": _png(120, 90, (20, 160, 60))},
            {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not a picture"},
        ]
    )
    previews = page.locator("[data-reference-previews] li")
    expect(previews).to_have_count(2)
    product = page.locator("[data-reference-preview='product.png']")
    expect(product.get_by_role("img", name="Preview of product.png")).to_be_visible()
    expect(product).to_contain_text("120x90 px")
    expect(page.locator("[data-reference-preview='notes.txt']")).to_contain_text("it will be refused")
    # Choosing again adds to the selection.
    upload.set_input_files({"name": "logo.png", "mimeType": "image/png", "buffer": _png(40, 40, (200, 40, 40))})
    expect(previews).to_have_count(3)
    assert upload.evaluate("i => i.files.length") == 3

    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.locator("[data-reference-previews]").scroll_into_view_if_needed()
        page.screenshot(path=str(shots / f"edit-canvas-references-{label}.png"), full_page=True)
        if label == "phone":
            _no_sideways_scroll(page, width)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("button", name="Remove notes.txt").click()
    expect(previews).to_have_count(2)
    expect(page.get_by_role("button", name="Remove logo.png")).to_be_focused()
    assert upload.evaluate("i => [...i.files].map(f => f.name)") == ["product.png", "logo.png"]

    page.get_by_label("Instruction").fill("Place the product on the table")
    page.get_by_role("button", name="Create edited version").click()
    job = _wait_job(operation=Operation.EDIT, base_variant_id=base_id)
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    assert len(job.reference_uploads) == 2, "what was removed from the preview was not sent"
    assert not _js_errors(page), page.js_errors


def test_generation_progress_is_announced_as_images_land(page, demo, login):
    """The draft page's job card is swapped on every poll; one live region says what changed."""
    _generate(page, login, n=2, title="Two lemon sodas")
    announcer = page.locator("#job-announcer")
    expect(announcer).to_have_attribute("aria-live", "polite")
    expect(announcer).to_contain_text("2 images so far", timeout=30000)
    expect(announcer).not_to_contain_text("through the safety check", timeout=30000)
    assert not _js_errors(page), page.js_errors
