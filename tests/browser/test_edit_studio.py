"""The iterative edit studio in the real app, in Chromium: painted masks, compare, localised versions,
re-runs, reference uploads and "Fix this" from a review comment.

Runs against the live server on PostgreSQL with a real Celery worker on Redis and the offline renderer.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from PIL import Image, ImageChops
from playwright.sync_api import expect

from studio.generation.models import GenerationJob, JobStatus, Operation, Variant, VariantStatus
from tests.conftest import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COPY = "en: Hello spring\nja: 春のセール\nhi: वसंत सेल"


def _variant_id(url: str) -> int:
    return int(re.search(r"/variants/(\d+)/", url).group(1))


def _generate(page, login, *, n: int = 1, title: str = "Lemon soda hero") -> list[int]:
    """Log in as the marketer, write a draft with in-image copy and generate ``n`` variants; returns their ids
    once every one has passed the safety check."""
    login(page, "marketer", "marketer-demo-pass")
    page.get_by_role("link", name="Spring launch").click()
    page.get_by_label("Title").fill(title)
    page.get_by_label("Prompt").fill("A cold glass of lemon soda on a sunny kitchen table")
    page.get_by_label("In-image copy per locale").fill(COPY)
    page.get_by_role("button", name="Create draft").click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    page.get_by_label("Format").select_option(label="LinkedIn ad (1200x628)")
    page.get_by_label("Variants").fill(str(n))
    page.get_by_label("Variants").dispatch_event("change")
    expect(page.locator("#plan-preview")).to_contain_text("Estimated cost")
    page.get_by_role("button", name="Generate variants").click()
    card = page.locator("article.job-card").first
    expect(card.locator("img")).to_have_count(n, timeout=60000)
    expect(card.locator(".badge", has_text="Ready to submit")).to_have_count(n, timeout=60000)
    job = GenerationJob.objects.get(operation=Operation.GENERATE, draft_version__draft__title=title)
    return list(job.variants.order_by("index").values_list("pk", flat=True))


def _wait_job(**filters) -> GenerationJob:
    job = wait_for(lambda: GenerationJob.objects.filter(**filters).first(), timeout=30, message=f"a job {filters}")
    return wait_for(
        lambda: (j := GenerationJob.objects.get(pk=job.pk)).is_terminal and j,
        timeout=60,
        message=f"job {job.pk} to finish",
    )


def _wait_ready(variant_id: int) -> Variant:
    return wait_for(
        lambda: (v := Variant.objects.get(pk=variant_id)).status == VariantStatus.READY and v,
        timeout=60,
        message=f"variant {variant_id} to pass screening",
    )


def _open(field_file) -> Image.Image:
    with field_file.open("rb") as fh:
        image = Image.open(io.BytesIO(fh.read()))
        image.load()
    return image


def _js_errors(page, *, allow: tuple[str, ...] = ()) -> list[str]:
    """Console errors, minus htmx's report of a request it aborted on purpose (``hx-sync="this:replace"``
    on the live plan preview cancels the stale request; htmx logs the abort and its afterRequest as
    errors) and anything in ``allow``. Every other error, CSP violations included, still fails the test."""
    errors = [e for e in page.js_errors if not any(e.startswith(prefix) for prefix in allow)]
    aborts = sum(1 for e in errors if e.startswith("htmx:sendAbort"))
    kept, after_requests = [], 0
    for error in errors:
        if error.startswith("htmx:sendAbort"):
            continue
        if error.startswith("htmx:afterRequest") and after_requests < aborts:
            after_requests += 1
            continue
        kept.append(error)
    return kept


def _png(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------- inpaint


def test_painted_mask_makes_an_inpaint_that_changes_only_the_painted_area(page, demo, login):
    (base_id,) = _generate(page, login)
    base = Variant.objects.get(pk=base_id)
    page.goto(f"{demo.url}/w/demo/variants/{base_id}/")
    page.get_by_role("button", name="Paint the area to change").click()
    painter = page.locator("[data-mask-painter]")
    canvas = painter.locator("[data-mask-canvas]")
    expect(canvas).to_be_visible()
    expect(painter).to_have_attribute("data-mask-state", "empty")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    # One horizontal stroke across the left half, a third of the way down.
    y = box["y"] + box["height"] * 0.33
    page.mouse.move(box["x"] + box["width"] * 0.15, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.45, y, steps=12)
    page.mouse.up()
    expect(painter).to_have_attribute("data-mask-state", "partial")
    expect(painter.locator("[data-mask-summary]")).to_contain_text("Painted area: about")
    page.get_by_label("Instruction").fill("Put a slice of lemon here")
    page.get_by_role("button", name="Create edited version").click()
    # The edit's progress shows in place, then the page moves to the new version (tests/browser/test_edit_canvas.py).
    job = _wait_job(operation=Operation.INPAINT, base_variant_id=base_id)
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    child = job.variants.get()
    page.wait_for_url(f"**/variants/{child.pk}/#variant-title", timeout=60000)
    expect(page.locator("body")).to_contain_text("Inpaint")
    expect(page.get_by_role("link", name=f"#{base_id}", exact=True)).to_be_visible()
    assert list(child.parents.all()) == [base]
    assert child.operation == Operation.INPAINT

    mask = _open(job.mask)
    assert mask.format == "PNG"
    assert mask.size == (base.width, base.height)
    alpha = mask.getchannel("A")
    histogram = alpha.histogram()
    assert {value for value, count in enumerate(histogram) if count} == {0, 255}
    sx, sy = int(base.width * 0.30), int(base.height * 0.33)
    assert alpha.getpixel((sx, sy)) == 0, "the middle of the stroke is painted (alpha 0: change here)"
    assert alpha.getpixel((int(base.width * 0.8), int(base.height * 0.8))) == 255, "far from the stroke: keep"
    painted = histogram[0]
    assert 0.01 < painted / (base.width * base.height) < 0.5

    before = _open(base.image).convert("RGB")
    after = _open(child.image).convert("RGB")
    assert after.size == before.size
    diff = ImageChops.difference(before, after).convert("L")
    keep = alpha.point(lambda a: 255 if a == 255 else 0)
    outside = ImageChops.multiply(diff, keep)
    inside = ImageChops.multiply(diff, ImageChops.invert(keep))
    assert outside.getextrema()[1] <= 2, "pixels outside the mask are unchanged"
    assert inside.getextrema()[1] > 30, "pixels inside the mask were changed"
    _wait_ready(child.pk)
    assert not _js_errors(page), page.js_errors


# ---------------------------------------------------------------------------------------------- compare


def test_compare_slider_by_keyboard_difference_and_synced_zoom(page, demo, login):
    first, second = _generate(page, login, n=2)
    page.goto(f"{demo.url}/w/demo/variants/{second}/compare/?with={first}")
    compare = page.locator("[data-compare]")
    expect(compare).to_have_class(re.compile("es-compare-ready"))

    page.get_by_label("Slider", exact=True).check()
    expect(compare).to_have_attribute("data-mode", "slider")
    slider = page.locator("[data-slider]")
    slider.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    expect(slider).to_have_value("55")
    expect(slider).to_have_attribute("aria-valuetext", "55% Earlier")
    clip = compare.locator("[data-slider-clip]")
    assert "45%" in clip.evaluate("el => el.style.clipPath")
    page.keyboard.press("Home")
    expect(slider).to_have_value("0")
    assert "100%" in clip.evaluate("el => el.style.clipPath")

    page.get_by_label("Difference", exact=True).check()
    canvas = compare.locator("canvas[data-diff]")
    expect(canvas).to_have_attribute("data-diff-ready", "true", timeout=15000)
    assert float(canvas.get_attribute("data-changed-share")) > 0
    lit = canvas.evaluate(
        """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                 let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] || d[i + 1] || d[i + 2]) n++; return n; }"""
    )
    assert lit > 0, "the difference canvas is not empty"

    compare.get_by_role("button", name="Zoom in").click()
    expect(compare.locator("[data-zoom-level]")).to_have_text("125%")
    transforms = compare.locator("[data-zoom-target]").evaluate_all("els => els.map(e => e.style.transform)")
    assert len(transforms) == 4
    assert len(set(transforms)) == 1
    assert "scale(1.25)" in transforms[0]
    compare.locator("[data-compare-panel=diff] [data-viewport]").focus()
    page.keyboard.press("+")
    expect(compare.locator("[data-zoom-level]")).to_have_text("156%")
    transforms = compare.locator("[data-zoom-target]").evaluate_all("els => els.map(e => e.style.transform)")
    assert len(set(transforms)) == 1
    assert not _js_errors(page), page.js_errors


# ---------------------------------------------------------------------------------------------- localise


def _approve(page, login, demo, variant_id: int) -> None:
    page.goto(f"{demo.url}/w/demo/variants/{variant_id}/")
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator(".badge", has_text="In review").first).to_be_visible()
    page.context.clear_cookies()
    login(page, "reviewer", "reviewer-demo-pass")
    page.get_by_role("link", name="Review queue").click()
    page.locator("tr.queue-row", has_text=f"#{variant_id}").locator("a[data-open]").click()
    page.get_by_label("Approve", exact=True).check()
    page.get_by_label("Note or reason").fill("On brand.")
    page.get_by_role("button", name="Record decision").click()
    wait_for(
        lambda: Variant.objects.get(pk=variant_id).status == VariantStatus.APPROVED, timeout=30, message="approval"
    )
    # The decision answers with a client redirect to the queue; let it land before the next login's
    # navigation, or the two race ("navigation interrupted by another navigation").
    page.wait_for_url("**/reviews/")
    page.context.clear_cookies()


def test_localised_versions_of_an_approved_master(page, demo, login, tmp_path):
    (master_id,) = _generate(page, login)
    _approve(page, login, demo, master_id)
    login(page, "marketer", "marketer-demo-pass")
    page.goto(f"{demo.url}/w/demo/variants/{master_id}/")
    form = page.locator("form[action$='/localise/']")
    expect(form).to_be_visible()
    form.locator("input[name=locales][value=en]").uncheck()
    expect(form.locator("input[name=locales][value=ja]")).to_be_checked()
    expect(form.locator("input[name=locales][value=hi]")).to_be_checked()
    form.get_by_role("button", name="Create localised versions").click()
    expect(page.locator("body")).to_contain_text("Started 2 localised versions")
    # They land in place, on the master's page, one thumbnail per locale as each job finishes.
    assert f"/variants/{master_id}/?started=" in page.url
    progress = page.locator("#edit-progress")
    expect(progress.get_by_role("heading", name="Localised versions you started")).to_be_visible()
    expect(progress.locator("[data-result]")).to_have_count(2, timeout=60000)
    shots = Path(os.environ.get("IMPRIMATUR_VAR_DIR") or tmp_path) / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    for label, size in {"desktop": (1280, 900), "phone": (390, 844)}.items():
        page.set_viewport_size({"width": size[0], "height": size[1]})
        page.screenshot(path=str(shots / f"edit-localised-in-place-{label}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    jobs = {loc: _wait_job(operation=Operation.LOCALISE, locale=loc) for loc in ("ja", "hi")}
    master = Variant.objects.get(pk=master_id)
    children = {}
    for loc, job in jobs.items():
        assert job.status == JobStatus.SUCCEEDED, job.error_message
        assert job.base_variant_id == master_id
        variant = job.variants.get()
        assert variant.operation == Operation.LOCALISE
        assert variant.locale == loc
        assert list(variant.parents.all()) == [master]
        # Screened on its own: its own image assessment, its own verdict, then ready to submit.
        variant = _wait_ready(variant.pk)
        assert variant.assessments.filter(stage="image").exists()
        children[loc] = variant
    assert 'In-image text (ja): "春のセール"' in jobs["ja"].prompt
    assert 'In-image text (hi): "वसंत सेल"' in jobs["hi"].prompt
    assert Variant.objects.get(pk=master_id).status == VariantStatus.APPROVED  # the master stays approved

    page.goto(f"{demo.url}/w/demo/drafts/{master.draft_id}/tree/")
    master_node = page.locator("li.tree-node", has=page.get_by_role("link", name=f"#{master_id}", exact=True)).first
    group = master_node.locator("> ul[role=group]")
    expect(group.locator("> li.tree-node")).to_have_count(2)
    for loc, variant in children.items():
        node = group.locator("> li.tree-node", has_text=f"#{variant.pk}")
        expect(node).to_contain_text("Localise")
        expect(node).to_contain_text(loc)
    assert not _js_errors(page), page.js_errors


# ---------------------------------------------------------------------------------------------- re-run


def test_rerun_exactly_makes_a_sibling_with_identical_inputs(page, demo, login):
    (base_id,) = _generate(page, login)
    page.goto(f"{demo.url}/w/demo/variants/{base_id}/")
    page.get_by_label("Instruction").fill("Add a paper straw")
    page.get_by_role("button", name="Create edited version").click()
    edit = _wait_job(operation=Operation.EDIT, base_variant_id=base_id)
    assert edit.status == JobStatus.SUCCEEDED, edit.error_message
    original = edit.variants.get()
    # The edit lands on its new version; re-running is done from the draft page's job card.
    page.wait_for_url(f"**/variants/{original.pk}/#variant-title", timeout=60000)
    page.goto(f"{demo.url}/w/demo/drafts/{original.draft_id}/")
    card = page.locator(f"#job-{edit.pk}")
    expect(card.locator("img")).to_have_count(1, timeout=60000)
    card.get_by_role("button", name="Re-run exactly").click()
    expect(page.locator("body")).to_contain_text("Re-running with exactly the same settings")

    rerun = _wait_job(rerun_of_id=edit.pk)
    assert rerun.status == JobStatus.SUCCEEDED, rerun.error_message
    assert rerun.pk != edit.pk
    for name in (
        "params",
        "planned_width",
        "planned_height",
        "prompt",
        "instruction",
        "operation",
        "n",
        "deployment_id",
        "base_variant_id",
        "reference_uploads",
        "route",
        "locale",
    ):
        assert getattr(rerun, name) == getattr(edit, name), name
    assert rerun.mask.name == edit.mask.name
    assert list(rerun.reference_variants.all()) == list(edit.reference_variants.all())
    sibling = rerun.variants.get()
    assert sibling.pk != original.pk
    assert list(sibling.parents.all()) == list(original.parents.all()) == [Variant.objects.get(pk=base_id)]
    new_card = page.locator(f"#job-{rerun.pk}")
    expect(new_card).to_contain_text(f"re-run of job {edit.pk}", timeout=30000)
    expect(new_card.locator("img")).to_have_count(1, timeout=60000)
    assert not _js_errors(page), page.js_errors


# ---------------------------------------------------------------------------------------------- uploads


def test_reference_upload_is_stored_and_a_non_image_is_refused(page, demo, login):
    from django.core.files.storage import default_storage

    (base_id,) = _generate(page, login)
    page.goto(f"{demo.url}/w/demo/variants/{base_id}/")
    page.get_by_text("Reference images (optional)").click()
    page.get_by_label("Upload reference images").set_input_files(
        {"name": "product.png", "mimeType": "image/png", "buffer": _png(120, 90, (20, 160, 60))}
    )
    page.get_by_label("Instruction").fill("Place the product from the reference on the table")
    page.get_by_role("button", name="Create edited version").click()
    expect(page.locator("body")).to_contain_text("Edit started")
    job = _wait_job(base_variant_id=base_id, operation=Operation.EDIT)
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    assert len(job.reference_uploads) == 1
    stored = job.reference_uploads[0]
    assert default_storage.exists(stored)
    with default_storage.open(stored, "rb") as fh, Image.open(fh) as img:
        assert img.size == (120, 90)

    jobs_before = GenerationJob.objects.count()
    page.goto(f"{demo.url}/w/demo/variants/{base_id}/")
    page.get_by_text("Reference images (optional)").click()
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>'
    page.get_by_label("Upload reference images").set_input_files(
        {"name": "logo.png", "mimeType": "image/png", "buffer": svg}
    )
    page.get_by_label("Instruction").fill("Use this logo")
    page.get_by_role("button", name="Create edited version").click()
    alert = page.locator(".alert-error")
    expect(alert).to_contain_text("This file is not a PNG, JPEG or WebP image (it looks like an SVG drawing)")
    expect(page.get_by_label("Instruction")).to_have_value("Use this logo")
    assert GenerationJob.objects.count() == jobs_before
    # The refused form comes back with status 422, which Chromium reports on the console.
    assert not _js_errors(page, allow=("Failed to load resource: the server responded with a status of 422",))


# ---------------------------------------------------------------------------------------------- fix this


def test_fix_this_opens_the_painter_with_the_comment_box_painted(page, demo, login):
    from django.contrib.auth import get_user_model

    from approvals.reviews.models import Comment
    from studio.lib.imaging import mask_from_box

    (base_id,) = _generate(page, login)
    base = Variant.objects.get(pk=base_id)
    reviewer = get_user_model().objects.get(username="reviewer")
    comment = Comment.objects.create(
        variant=base, author=reviewer, text="The logo is too small here", x=0.5, y=0.25, w=0.25, h=0.5
    )
    page.goto(f"{demo.url}/w/demo/variants/{base_id}/?fix_comment={comment.pk}")
    expect(page.get_by_label("Instruction")).to_have_value("The logo is too small here")
    painter = page.locator("[data-mask-painter]")
    # The painter opens on the large image by itself, with the box loaded.
    expect(page.get_by_role("button", name="Done painting")).to_have_attribute("aria-pressed", "true")
    expect(painter).to_have_attribute("data-mask-state", "partial")
    expect(painter).to_have_attribute("data-painted-share", re.compile(r"^1[23]$"))  # 0.25 x 0.5 = 12.5%
    canvas = painter.locator("[data-mask-canvas]")
    alpha_at = (
        "(c, [x, y]) => c.getContext('2d')"
        ".getImageData(Math.floor(x * c.width), Math.floor(y * c.height), 1, 1).data[3]"
    )
    assert canvas.evaluate(alpha_at, [0.62, 0.5]) == 255, "inside the box is painted"
    assert canvas.evaluate(alpha_at, [0.2, 0.5]) == 0, "outside the box is not"
    expect(canvas).to_be_visible()
    # The loaded box is an operation like a stroke: undo removes it, redo brings it back.
    painter.get_by_role("button", name="Undo").click()
    expect(painter).to_have_attribute("data-mask-state", "empty")
    painter.get_by_role("button", name="Redo").click()
    expect(painter).to_have_attribute("data-mask-state", "partial")

    page.get_by_role("button", name="Create edited version").click()
    job = _wait_job(operation=Operation.INPAINT, base_variant_id=base_id)
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    assert job.instruction == "The logo is too small here"
    with job.mask.open("rb") as fh:
        sent = Image.open(io.BytesIO(fh.read()))
        sent.load()
    expected = Image.open(io.BytesIO(mask_from_box(width=base.width, height=base.height, box=(0.5, 0.25, 0.25, 0.5))))
    assert sent.size == expected.size
    assert ImageChops.difference(sent.getchannel("A"), expected.getchannel("A")).getbbox() is None
    assert not _js_errors(page), page.js_errors
