"""Channel-true renditions: trimming only within the aspect tolerance, around the focal point; beyond
it a plain refusal, never a silent crop; upscaling always said."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from studio.lib.imaging import (
    ASPECT_TOLERANCE,
    RenditionRefused,
    channel_rendition,
    plan_rendition,
    safe_zone_for,
)
from studio.lib.imaging.renditions import DEFAULT_SAFE_ZONE, UPSCALE_WARN_ABOVE, aspect_difference


def png(width, height, halves=None) -> bytes:
    image = Image.new("RGB", (width, height), (0, 0, 255))
    if halves == "left-red":
        image.paste((255, 0, 0), (0, 0, width // 2, height))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_issue_case_is_refused_in_plain_words():
    plan = plan_rendition(
        source_width=1216, source_height=640, target_width=1080, target_height=1920, target_name="Story"
    )
    assert not plan.ok
    assert plan.refusal == (
        "This image was composed for 1216x640; a 1080x1920 Story needs its own generation "
        "— launch a run cell for that format."
    )
    assert plan.notes == []


def test_a_near_shape_is_trimmed_not_refused():
    plan = plan_rendition(source_width=1216, source_height=640, target_width=1200, target_height=628)
    assert plan.ok
    assert plan.aspect_difference < 0.01
    # 1200x628 is a touch wider than 1216x640: the full width is kept, a sliver comes off top and bottom.
    assert plan.crop_box[0] == 0
    assert plan.crop_box[2] == 1216
    assert 630 < plan.crop_height < 640
    assert any("Trimmed 1216x640" in note and "around the centre" in note for note in plan.notes)


@pytest.mark.parametrize(
    ("target", "ok"),
    [((1100, 1000), True), ((1000, 1100), True), ((1110, 1000), False), ((1000, 1110), False)],
)
def test_the_tolerance_boundary_is_ten_percent_both_ways(target, ok):
    assert ASPECT_TOLERANCE == 0.10
    plan = plan_rendition(source_width=1000, source_height=1000, target_width=target[0], target_height=target[1])
    assert plan.ok is ok
    assert aspect_difference(1000, 1000, *target) == pytest.approx(plan.aspect_difference)


def test_the_crop_is_centred_on_the_focal_point_and_kept_inside_the_image():
    # 1100x1000 source to a square: 100 px to trim horizontally.
    centre = plan_rendition(source_width=1100, source_height=1000, target_width=500, target_height=500)
    assert centre.crop_box == (50, 0, 1050, 1000)
    left = plan_rendition(source_width=1100, source_height=1000, target_width=500, target_height=500, focal=(0.0, 0.5))
    assert left.crop_box == (0, 0, 1000, 1000)  # clamped at the edge
    right = plan_rendition(
        source_width=1100, source_height=1000, target_width=500, target_height=500, focal=(0.52, 0.5)
    )
    assert right.crop_box == (72, 0, 1072, 1000)  # 0.52 * 1100 = 572, minus half the crop width
    assert any("focal point (52% across, 50% down)" in n for n in right.notes)
    none = plan_rendition(
        source_width=1100, source_height=1000, target_width=500, target_height=500, focal=(None, None)
    )
    assert none.crop_box == centre.crop_box


def test_upscaling_is_always_said_and_warned_beyond_the_small_factor():
    small = plan_rendition(source_width=1000, source_height=500, target_width=1100, target_height=550)
    assert small.upscales
    assert small.scale == pytest.approx(1.1)
    assert any(n.startswith("Scaled up 1.10x") and "softer" not in n for n in small.notes)
    big = plan_rendition(source_width=400, source_height=200, target_width=1200, target_height=600)
    assert big.scale == pytest.approx(3.0)
    assert big.scale > UPSCALE_WARN_ABOVE
    assert any("Scaled up 3.00x" in n and "expect softer detail" in n for n in big.notes)
    down = plan_rendition(source_width=2000, source_height=1000, target_width=1000, target_height=500)
    assert down.notes == ["Scaled down to 1000x500."]


def test_channel_rendition_reaches_the_exact_size_around_the_focal_point():
    source = png(220, 200, halves="left-red")  # red left half, blue right half
    out, plan = channel_rendition(source=source, width=100, height=100, focal=(0.0, 0.5))
    with Image.open(io.BytesIO(out)) as image:
        assert image.size == (100, 100)
        assert image.getpixel((30, 50))[0] > 200  # the left (red) side was kept
    assert plan.crop_box == (0, 0, 200, 200)
    _out, right = channel_rendition(source=source, width=100, height=100, focal=(1.0, 0.5))
    assert right.crop_box == (20, 0, 220, 200)


def test_channel_rendition_refuses_beyond_the_tolerance_instead_of_cropping():
    with pytest.raises(RenditionRefused, match="composed for 1216x640; a 1080x1920 Instagram Story needs its own"):
        channel_rendition(source=png(1216, 640), width=1080, height=1920, target_name="Instagram Story")


def test_safe_zones_come_from_the_channel():
    story = safe_zone_for(channel="Instagram", name="Instagram Story")
    assert story.top == 0.14
    assert story.bottom == 0.20
    assert safe_zone_for(channel="", name="Newsletter hero") == DEFAULT_SAFE_ZONE
