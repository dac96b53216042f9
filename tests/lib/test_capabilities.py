"""Form-level capability checks read from profiles (data), never model names."""

from __future__ import annotations

import pytest

from studio.generation.catalog import builtin_profile
from studio.lib.capabilities import check_request

GOOD = {
    "operation": "generate",
    "size": "1536x864",
    "quality": "medium",
    "output_format": "png",
    "background": "",
    "n": 4,
}


def check(name: str = "gpt-image-2", **overrides):
    return check_request(builtin_profile(name), **{**GOOD, **overrides})


def test_valid_request_has_no_errors():
    assert check() == {}
    assert check("gpt-image-1.5", size="1024x1536") == {}


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"size": "1000x1000"}, "size", "multiples of 16"),
        ({"size": "3968x1024"}, "size", "at most 3,840 pixels"),
        ({"size": "3840x1024"}, "size", "3 times wider"),
        ({"size": "512x512"}, "size", "at least 655,360 pixels"),
        ({"size": "big"}, "size", "like 1200x628"),
        ({"quality": "max"}, "quality", "low, medium, high or auto"),
        ({"output_format": "gif"}, "output_format", "png, jpeg or webp"),
        ({"background": "transparent"}, "background", "opaque or auto"),
        ({"n": 11}, "n", "1 to 10"),
        ({"n": 0}, "n", "1 to 10"),
        ({"operation": "edit", "input_images": 17}, "references", "at most 16 images"),
        ({"operation": "edit", "has_markup": True}, "markup", "does not take markup"),
        ({"operation": "edit", "input_fidelity": "high"}, "input_fidelity", "no input-fidelity"),
        ({"has_mask": True}, "mask", "only applies when editing"),
    ],
)
def test_each_rule_gives_a_plain_message_on_its_field(overrides, field, fragment):
    errors = check(**overrides)
    assert field in errors
    assert fragment in errors[field]


def test_fixed_model_lists_its_sizes():
    errors = check("gpt-image-1.5", size="1216x640")
    assert errors["size"] == "This model only makes 1024x1024, 1536x1024 or 1024x1536 images."


def test_extended_qualities_and_markup_on_2_5():
    assert check("gpt-image-2.5-flare", quality="xhigh") == {}
    assert check("gpt-image-2.5-flare", operation="edit", has_markup=True) == {}
    both = check("gpt-image-2.5-flare", operation="edit", has_markup=True, has_mask=True)
    assert both == {"markup": "Use either a mask or a markup sketch, not both."}


def test_input_fidelity_on_models_that_have_it():
    assert check("gpt-image-1.5", size="1024x1024", operation="edit", input_fidelity="high") == {}
    assert "input_fidelity" in check("gpt-image-1.5", size="1024x1024", operation="edit", input_fidelity="max")


def test_transparent_background_needs_a_format_with_alpha():
    errors = check("gpt-image-2.5-sunburst", background="transparent", output_format="jpeg")
    assert errors == {"background": "A transparent background needs PNG or WebP; JPEG has no transparency."}


def test_admin_edits_to_the_profile_change_the_rules():
    profile = builtin_profile("gpt-image-2")
    profile.max_n = 2
    profile.supports_mask = False
    errors = check_request(profile, **{**GOOD, "operation": "inpaint", "has_mask": True})
    assert errors["n"] == "This model makes 1 to 2 variants at a time."
    assert "cannot edit just part" in errors["mask"]
