"""The mask painter and the compare view in real Chromium, under the product's strict CSP.

This module is also the URLconf of its own test-only pages (``@pytest.mark.urls`` points here): each page
is a minimal HTML document built with Django's template engine that links the real static files and
includes the real partials. Images are generated with Pillow and served by a view, so nothing needs the
database, media storage or the worker.
"""

from __future__ import annotations

import base64
import io
from types import SimpleNamespace

import pytest
from django.http import HttpResponse, JsonResponse
from django.template import Context, Template
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from PIL import Image
from playwright.sync_api import expect

from studio.lib.imaging import MASK_MAX_BYTES, UploadRejected, decode_data_url, validate_mask

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.urls("tests.browser.test_mask_and_compare"),
]

BASE_W, BASE_H = 640, 320  # displayed at half size (test.css), so pointer mapping is exercised

# ------------------------------------------------------------------------------------ test-only site


def _png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def _image(name: str) -> Image.Image:
    if name == "base":
        im = Image.new("RGB", (BASE_W, BASE_H), (70, 130, 180))
        im.paste((240, 200, 60), (0, BASE_H // 2, BASE_W, BASE_H))
        return im
    if name == "before":
        return Image.new("RGB", (200, 100), (200, 40, 40))
    if name == "after":
        im = Image.new("RGB", (200, 100), (200, 40, 40))
        im.paste((40, 40, 200), (120, 20, 180, 80))  # the edit changed one square
        return im
    if name == "small":
        return Image.new("RGB", (100, 50), (200, 40, 40))
    raise KeyError(name)


def image_view(request, name):
    return HttpResponse(_png(_image(name)), content_type="image/png")


TEST_CSS = ".narrow { width: 320px; } .wide { width: 900px; }"


def css_view(request):
    return HttpResponse(TEST_CSS, content_type="text/css")


def _variant(pk: int, name: str) -> SimpleNamespace:
    im = _image(name)
    url = f"/img/{name}.png"
    # image_src / thumbnail_src: what templates read (the real Variant serves them through authorised views)
    return SimpleNamespace(
        pk=pk, width=im.width, height=im.height, image=SimpleNamespace(url=url), image_src=url, thumbnail_src=url
    )


PAGE = """{% load static %}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Edit studio test page</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="{% static 'css/app.css' %}">
<link rel="stylesheet" href="/test.css">
<script type="module" src="{% static script %}"></script>
</head><body><main id="main">BODY</main></body></html>"""

PAINTER_BODY = """<form method="post" action="/submit/" class="narrow">
{% include "studio/partials/mask_painter.html" with variant=base %}
<label for="instruction">Instruction</label><input id="instruction" name="instruction" type="text">
<button type="submit" class="btn btn-primary">Edit</button></form>"""

COMPARE_BODY = """<div class="wide">
{% include "studio/partials/compare.html" with left=left right=right left_label="Version 1" right_label="Version 2" %}
</div>"""


def painter_page(request):
    html = Template(PAGE.replace("BODY", PAINTER_BODY)).render(
        Context({"script": "js/mask-painter.js", "base": _variant(7, "base")})
    )
    return HttpResponse(html)


def compare_page(request):
    right = "small" if request.GET.get("sizes") == "differ" else "after"
    html = Template(PAGE.replace("BODY", COMPARE_BODY)).render(
        Context({"script": "js/compare.js", "left": _variant(1, "before"), "right": _variant(2, right)})
    )
    return HttpResponse(html)


@csrf_exempt
def submit_view(request):
    """What the lead's edit view will do with the field: decode, then validate against the base size."""
    try:
        raw = decode_data_url(request.POST.get("mask", ""), max_bytes=MASK_MAX_BYTES)
        validate_mask(raw, width=BASE_W, height=BASE_H)
    except UploadRejected as exc:
        return JsonResponse({"ok": False, "message": exc.message})
    return JsonResponse({"ok": True, "instruction": request.POST.get("instruction", "")})


urlpatterns = [
    path("painter/", painter_page),
    path("compare/", compare_page),
    path("submit/", submit_view),
    path("img/<str:name>.png", image_view),
    path("test.css", css_view),
    path("favicon.ico", lambda request: HttpResponse(status=204)),  # JSON responses make Chrome ask for one
]

# ------------------------------------------------------------------------------------------ helpers


def mask_alpha(page) -> Image.Image | None:
    value = page.locator("[data-mask-input]").input_value()
    if not value:
        return None
    assert value.startswith("data:image/png;base64,")
    with Image.open(io.BytesIO(base64.b64decode(value.split(",", 1)[1]))) as im:
        assert im.format == "PNG"
        assert im.size == (BASE_W, BASE_H)
        assert im.mode == "RGBA"
        return im.getchannel("A").copy()


def alpha_values(alpha: Image.Image) -> set[int]:
    return {value for value, count in enumerate(alpha.histogram()) if count}


def paint_horizontal_stroke(page, *, y_css: float, x_from: float, x_to: float) -> None:
    box = page.locator("[data-mask-canvas]").bounding_box()
    page.mouse.move(box["x"] + x_from, box["y"] + y_css)
    page.mouse.down()
    page.mouse.move(box["x"] + x_to, box["y"] + y_css, steps=12)
    page.mouse.up()


def no_js_errors(page) -> None:
    """CSP violations (an inline style or script) show up as console errors too."""
    assert page.js_errors == []


# ------------------------------------------------------------------------------------------ painter


def test_paint_undo_redo_invert_and_export_exact_mask(page, live_server):
    page.goto(f"{live_server.url}/painter/")
    painter = page.locator("[data-mask-painter]")
    expect(page.get_by_role("toolbar", name="Mask tools")).to_be_visible()
    canvas_box = page.locator("[data-mask-canvas]").bounding_box()
    assert round(canvas_box["width"]) == BASE_W // 2, "the canvas is CSS-scaled onto the displayed image"
    assert page.locator("[data-mask-canvas]").evaluate("c => [c.width, c.height]") == [BASE_W, BASE_H]
    assert mask_alpha(page) is None

    page.get_by_label("Brush size").fill("40")
    expect(page.locator("[data-brush-size-output]")).to_have_text("40 px")

    # CSS (40, 40) -> (280, 40) at half scale = image (80, 80) -> (560, 80), a 40 px wide brush.
    paint_horizontal_stroke(page, y_css=40, x_from=40, x_to=280)
    expect(painter).to_have_attribute("data-mask-state", "partial")
    alpha = mask_alpha(page)
    assert alpha_values(alpha) == {0, 255}
    for x in (80, 200, 320, 440, 560):
        assert alpha.getpixel((x, 80)) == 0, f"painted at ({x}, 80)"
        assert alpha.getpixel((x, 70)) == 0
        assert alpha.getpixel((x, 90)) == 0
    for point in ((320, 40), (320, 120), (20, 80), (620, 80), (5, 5), (320, 300)):
        assert alpha.getpixel(point) == 255, f"untouched at {point}"
    painted = alpha.histogram()[0]
    assert 480 * 40 * 0.9 < painted < 520 * 40 * 1.1

    undo = page.get_by_role("button", name="Undo")
    redo = page.get_by_role("button", name="Redo")
    undo.click()
    expect(page.locator("[data-mask-status]")).to_have_text("Undone")
    expect(painter).to_have_attribute("data-mask-state", "empty")
    assert mask_alpha(page) is None
    expect(undo).to_be_disabled()

    redo.click()
    expect(page.locator("[data-mask-status]")).to_have_text("Redone")
    redone = mask_alpha(page)
    assert redone.getpixel((320, 80)) == 0
    assert redone.getpixel((320, 40)) == 255
    assert abs(redone.histogram()[0] - painted) < painted * 0.02

    page.get_by_role("button", name="Invert").click()
    inverted = mask_alpha(page)
    assert inverted.getpixel((320, 80)) == 255
    assert inverted.getpixel((5, 5)) == 0
    assert inverted.getpixel((320, 300)) == 0
    assert abs(inverted.histogram()[255] - painted) < painted * 0.02

    # The exported mask is what the server accepts.
    raw = decode_data_url(page.locator("[data-mask-input]").input_value(), max_bytes=MASK_MAX_BYTES)
    assert validate_mask(raw, width=BASE_W, height=BASE_H)
    no_js_errors(page)


def test_keyboard_shortcuts_and_announcements(page, live_server):
    page.goto(f"{live_server.url}/painter/")
    status = page.locator("[data-mask-status]")
    brush = page.get_by_role("button", name="Brush", exact=True)
    eraser = page.get_by_role("button", name="Eraser")
    expect(brush).to_have_attribute("aria-pressed", "true")

    page.keyboard.press("e")
    expect(eraser).to_have_attribute("aria-pressed", "true")
    expect(brush).to_have_attribute("aria-pressed", "false")
    expect(status).to_have_text("Eraser")
    page.keyboard.press("b")
    expect(brush).to_have_attribute("aria-pressed", "true")

    size = page.get_by_label("Brush size")
    page.get_by_label("Brush size").fill("40")
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("]")
    bigger = int(size.input_value())
    assert bigger > 40
    expect(status).to_have_text(f"Brush size {bigger}")
    page.keyboard.press("[")
    page.keyboard.press("[")
    assert int(size.input_value()) < bigger

    paint_horizontal_stroke(page, y_css=120, x_from=60, x_to=200)
    assert mask_alpha(page) is not None
    page.keyboard.press("Control+z")
    expect(status).to_have_text("Undone")
    assert mask_alpha(page) is None
    page.keyboard.press("Control+Shift+z")
    expect(status).to_have_text("Redone")
    assert mask_alpha(page) is not None
    page.keyboard.press("Control+z")
    page.keyboard.press("Control+y")
    assert mask_alpha(page) is not None

    # Typing in a text field is typing, not a shortcut.
    page.get_by_label("Instruction").fill("")
    page.get_by_label("Instruction").press_sequentially("be warmer")
    expect(brush).to_have_attribute("aria-pressed", "true")
    assert page.get_by_label("Instruction").input_value() == "be warmer"

    # The tools are real buttons in the tab order.
    page.get_by_role("button", name="Eraser").focus()
    page.keyboard.press("Enter")
    expect(eraser).to_have_attribute("aria-pressed", "true")
    page.get_by_role("button", name="Hide overlay").click()
    expect(page.get_by_role("button", name="Show overlay")).to_be_visible()
    expect(status).to_have_text("Overlay hidden")
    no_js_errors(page)


def test_eraser_removes_paint_and_submit_sends_a_valid_mask(page, live_server):
    page.goto(f"{live_server.url}/painter/")
    page.get_by_label("Brush size").fill("60")
    paint_horizontal_stroke(page, y_css=80, x_from=20, x_to=300)
    page.get_by_role("button", name="Eraser").click()
    paint_horizontal_stroke(page, y_css=80, x_from=140, x_to=180)
    alpha = mask_alpha(page)
    assert alpha.getpixel((100, 160)) == 0
    assert alpha.getpixel((320, 160)) == 255, "erased"
    page.get_by_label("Instruction").fill("make it warmer")
    page.get_by_role("button", name="Edit").click()
    expect(page.locator("body")).to_contain_text('"ok": true')
    no_js_errors(page)


def test_zoom_and_pan_keep_strokes_on_the_right_pixels(page, live_server):
    """Issue 14: zoomed in with the keyboard and panned (Move tool, Space+drag, arrows), a stroke still lands
    on the image pixels under the pointer, and panning never paints."""
    page.goto(f"{live_server.url}/painter/")
    painter = page.locator("[data-mask-painter]")
    stage = page.locator("[data-mask-viewport]")
    canvas = page.locator("[data-mask-canvas]")
    stage.focus()
    for _ in range(3):
        page.keyboard.press("+")
    expect(painter).to_have_attribute("data-zoom", "195")
    assert canvas.bounding_box()["width"] == pytest.approx(BASE_W / 2 * 1.25**3, rel=0.01)
    # The view is clipped to the stage: zooming does not make the page wider.
    assert stage.bounding_box()["width"] == pytest.approx(BASE_W / 2, abs=1)

    def drag_by(dx: float) -> None:
        box = stage.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] / 2 + dx, box["y"] + box["height"] / 2, steps=6)
        page.mouse.up()

    x0 = canvas.bounding_box()["x"]
    page.get_by_role("button", name="Move").click()
    drag_by(-60)
    assert canvas.bounding_box()["x"] == pytest.approx(x0 - 60, abs=2)
    page.keyboard.press("b")
    stage.focus()
    page.keyboard.down("Space")
    drag_by(-30)
    page.keyboard.up("Space")
    assert canvas.bounding_box()["x"] == pytest.approx(x0 - 90, abs=2)
    assert mask_alpha(page) is None, "panning paints nothing"
    page.keyboard.press("ArrowLeft")
    assert canvas.bounding_box()["x"] == pytest.approx(x0 - 50, abs=2)

    page.get_by_label("Brush size").fill("20")
    box = canvas.bounding_box()
    px, py = 500, 100
    page.mouse.move(box["x"] + px * box["width"] / BASE_W, box["y"] + py * box["height"] / BASE_H)
    page.mouse.down()
    page.mouse.up()
    alpha = mask_alpha(page)
    assert alpha.getpixel((px, py)) == 0, "painted under the pointer"
    assert alpha.getpixel((px, py + 14)) == 255
    assert alpha.getpixel((px - 14, py)) == 255
    assert 250 < alpha.histogram()[0] < 400, "one 20 px dot: about 314 pixels"

    page.keyboard.press("0")
    expect(painter).to_have_attribute("data-zoom", "100")
    assert canvas.bounding_box()["x"] == pytest.approx(stage.bounding_box()["x"], abs=1)
    no_js_errors(page)


def test_submitting_without_painting_gets_the_plain_message(page, live_server):
    page.goto(f"{live_server.url}/painter/")
    page.get_by_role("button", name="Edit").click()
    expect(page.locator("body")).to_contain_text("Paint the area you want to change first.")


# ------------------------------------------------------------------------------------------ compare


def test_slider_moves_the_clip_with_the_keyboard(page, live_server):
    page.goto(f"{live_server.url}/compare/")
    page.get_by_role("radio", name="Slider").check()
    slider = page.get_by_role("slider", name="Divider")
    expect(slider).to_be_visible()
    over = page.locator("[data-slider-clip]")
    before = over.evaluate("el => getComputedStyle(el).clipPath")
    assert "50%" in before

    slider.focus()
    for _ in range(10):
        page.keyboard.press("ArrowLeft")
    assert slider.input_value() == "40"
    assert "60%" in over.evaluate("el => getComputedStyle(el).clipPath")
    for _ in range(25):
        page.keyboard.press("ArrowRight")
    assert slider.input_value() == "65"
    assert "35%" in over.evaluate("el => getComputedStyle(el).clipPath")
    expect(slider).to_have_attribute("aria-valuetext", "65% Version 1")
    no_js_errors(page)


def test_difference_mode_draws_the_changed_pixels(page, live_server):
    page.goto(f"{live_server.url}/compare/")
    page.get_by_role("radio", name="Difference").check()
    canvas = page.locator("[data-diff]")
    expect(canvas).to_have_attribute("data-diff-ready", "true")
    stats = canvas.evaluate(
        """c => {
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          const at = (x, y) => Array.from(d.slice((y * c.width + x) * 4, (y * c.width + x) * 4 + 4));
          let lit = 0;
          for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] > 0) lit++;
          return {size: [c.width, c.height], lit, inside: at(150, 50), outside: at(20, 20)};
        }"""
    )
    assert stats["size"] == [200, 100]
    assert stats["lit"] == 60 * 60, "exactly the changed square lights up"
    assert stats["inside"][0] == 255
    assert stats["inside"][2] == 255
    assert stats["outside"] == [0, 0, 0, 255]
    expect(page.locator("[data-diff-note]")).to_contain_text("18% of pixels differ")
    no_js_errors(page)


def test_difference_notes_different_sizes(page, live_server):
    page.goto(f"{live_server.url}/compare/?sizes=differ")
    page.get_by_role("radio", name="Difference").check()
    expect(page.locator("[data-diff]")).to_have_attribute("data-diff-ready", "true")
    expect(page.locator("[data-diff-note]")).to_contain_text("different sizes (200x100 and 100x50)")
    expect(page.locator("[data-diff-note]")).to_contain_text("No pixels differ")


def test_zoom_and_pan_apply_to_both_panes(page, live_server):
    page.goto(f"{live_server.url}/compare/")
    panes = page.locator("[data-compare-panel=side] [data-zoom-target]")
    expect(panes).to_have_count(2)

    def transforms():
        return panes.evaluate_all(
            "els => els.map(e => new DOMMatrix(getComputedStyle(e).transform)).map(m => [m.a, m.d, m.e, m.f])"
        )

    assert transforms() == [[1, 1, 0, 0], [1, 1, 0, 0]]
    page.get_by_role("button", name="Zoom in").click()
    page.get_by_role("button", name="Zoom in").click()
    left, right = transforms()
    assert left == right
    assert left[0] == pytest.approx(1.5625)
    expect(page.locator("[data-zoom-level]")).to_have_text("156%")

    viewport = page.locator("[data-compare-panel=side] [data-viewport]").first
    box = viewport.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 60, box["y"] + box["height"] / 2 + 20, steps=5)
    page.mouse.up()
    panned_left, panned_right = transforms()
    assert panned_left == panned_right
    assert panned_left[2] != left[2], "dragging one pane pans both"

    viewport.focus()
    page.keyboard.press("-")
    expect(page.locator("[data-zoom-level]")).to_have_text("125%")
    page.keyboard.press("+")
    expect(page.locator("[data-zoom-level]")).to_have_text("156%")
    page.get_by_role("button", name="Reset zoom").click()
    assert transforms() == [[1, 1, 0, 0], [1, 1, 0, 0]]

    # The same zoom carries into the other views.
    page.get_by_role("button", name="Zoom in").click()
    page.get_by_role("radio", name="Slider").check()
    stack = page.locator("[data-compare-panel=slider] [data-zoom-target]")
    assert stack.evaluate("e => new DOMMatrix(getComputedStyle(e).transform).a") == pytest.approx(1.25)
    no_js_errors(page)
