"""Generation-size planning and exact renditions."""

from __future__ import annotations

import io
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from studio.generation.catalog import builtin_profile
from studio.lib.imaging import make_rendition
from studio.lib.sizing import (
    SizeError,
    check_returned_size,
    plan_size,
    profile_accepts,
    smallest_size,
)
from tests.contract.recording import image_bytes

GPT2 = builtin_profile("gpt-image-2")
FIXED = builtin_profile("gpt-image-1.5")


@pytest.mark.parametrize(
    ("target", "generation", "note"),
    [
        (
            (4000, 3000),
            "3264x2448",
            "4000x3000 is over the 8,294,400-pixel budget: generating 3264x2448 and scaling up 1.23x",
        ),
        ((300, 250), "960x800", "300x250 is under the 655,360-pixel floor: generating 960x800 and scaling down"),
        (
            (8000, 2000),
            "3840x1280",
            "8000x2000 is wider than 3:1: generating 3840x1280, cropping to 4:1 and scaling up 2.08x — expect softer "
            "detail",
        ),
    ],
)
def test_product_owner_examples(target, generation, note):
    plan = plan_size(target_width=target[0], target_height=target[1], profile=GPT2)
    assert plan.size == generation
    assert plan.notes == [note]


def test_wide_crop_is_flagged_with_its_aspect():
    plan = plan_size(target_width=8000, target_height=2000, profile=GPT2)
    assert plan.crop is True
    assert plan.crop_aspect == "4:1"
    assert plan.as_dict() == {
        "target": "8000x2000",
        "generation": "3840x1280",
        "pixels": 4_915_200,
        "scale": 2.0833,
        "crop": True,
        "crop_aspect": "4:1",
        "notes": plan.notes,
    }


def test_tall_targets_are_planned_too():
    plan = plan_size(target_width=1000, target_height=4000, profile=GPT2)
    assert plan.size == "1280x3840"
    assert plan.notes[0].startswith("1000x4000 is taller than 1:3")


def test_accepted_size_is_generated_as_is_with_no_note():
    plan = plan_size(target_width=1536, target_height=864, profile=GPT2)
    assert (plan.size, plan.scale, plan.crop, plan.notes) == ("1536x864", 1.0, False, [])


def test_target_that_fits_is_never_generated_smaller():
    plan = plan_size(target_width=1200, target_height=628, profile=GPT2)
    assert plan.width >= 1200
    assert plan.height >= 628
    assert plan.scale <= 1.0
    assert abs(math.log((plan.width / plan.height) / (1200 / 628))) < 0.01


def test_fixed_profile_takes_the_standard_size_nearest_in_aspect():
    assert plan_size(target_width=1200, target_height=628, profile=FIXED).size == "1536x1024"
    assert plan_size(target_width=1080, target_height=1920, profile=FIXED).size == "1024x1536"
    assert plan_size(target_width=300, target_height=250, profile=FIXED).size == "1024x1024"
    square = plan_size(target_width=1024, target_height=1024, profile=FIXED)
    assert square.notes == []
    assert not square.crop


@pytest.mark.parametrize(("w", "h"), [(0, 100), (100, 0), (-5, 100), (16385, 100), (100, 20000)])
def test_impossible_targets_raise_size_error(w, h):
    with pytest.raises(SizeError) as caught:
        plan_size(target_width=w, target_height=h, profile=GPT2)
    assert "\n" not in str(caught.value)


def test_smallest_size_is_the_pixel_floor():
    assert smallest_size(GPT2) == (1024, 640)
    assert smallest_size(FIXED) == (1024, 1024)


def test_check_returned_size():
    plan = plan_size(target_width=1200, target_height=628, profile=GPT2)
    assert check_returned_size(plan, plan.width, plan.height) is None
    assert "1024x1024" in check_returned_size(plan, 1024, 1024)


targets = st.tuples(st.integers(1, 16384), st.integers(1, 16384))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(targets)
def test_every_flexible_plan_obeys_the_profile(target):
    plan = plan_size(target_width=target[0], target_height=target[1], profile=GPT2)
    w, h = plan.width, plan.height
    assert w % 16 == 0
    assert h % 16 == 0
    assert max(w, h) <= 3840
    assert max(w, h) / min(w, h) <= 3.0
    assert 655_360 <= w * h <= 8_294_400
    assert profile_accepts(GPT2, w, h)
    assert plan.pixels == w * h
    assert math.isclose(plan.scale, max(target[0] / w, target[1] / h))


@settings(max_examples=60, deadline=None)
@given(targets)
def test_every_fixed_plan_is_a_standard_size(target):
    plan = plan_size(target_width=target[0], target_height=target[1], profile=FIXED)
    assert plan.size in FIXED.fixed_sizes


@settings(max_examples=25, deadline=None)
@given(st.integers(16, 900), st.integers(16, 900), st.floats(0, 1), st.floats(0, 1))
def test_rendition_reaches_the_exact_target(width, height, fx, fy):
    source = image_bytes(320, 200)
    out = make_rendition(source=source, width=width, height=height, focal=(fx, fy))
    with Image.open(io.BytesIO(out)) as img:
        assert img.size == (width, height)


def test_rendition_crops_around_the_focal_point_instead_of_stretching():
    source = Image.new("RGB", (400, 100), (0, 0, 255))
    source.paste((255, 0, 0), (0, 0, 100, 100))  # red on the left quarter
    buffer = io.BytesIO()
    source.save(buffer, format="PNG")
    left = make_rendition(source=buffer.getvalue(), width=100, height=100, focal=(0.0, 0.5), output_format="jpeg")
    right = make_rendition(source=buffer.getvalue(), width=100, height=100, focal=(1.0, 0.5), output_format="webp")
    with Image.open(io.BytesIO(left)) as img:
        assert img.format == "JPEG"
        r, g, b = img.getpixel((50, 50))
        assert r > 200
        assert b < 60
    with Image.open(io.BytesIO(right)) as img:
        r, g, b = img.getpixel((50, 50))[:3]
        assert b > 200
        assert r < 60
