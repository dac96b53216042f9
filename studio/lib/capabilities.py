"""Form-level checks of a request against a model's capability profile.

Capabilities change monthly, so they live in ``CapabilityProfile`` rows an admin edits; this module only
reads them (there is no ``if model == ...`` anywhere). The result maps form fields to plain-language
errors, so a marketer sees "This model makes 1 to 10 variants at a time" next to the field instead of an
API error after money is spent.
"""

from __future__ import annotations

import re

from studio.lib.imaging.formats import TRANSPARENT_FORMATS
from studio.lib.sizing import profile_accepts

SIZE_PATTERN = re.compile(r"^\s*(\d{1,6})\s*[xX×]\s*(\d{1,6})\s*$")
EDIT_OPERATIONS = frozenset({"edit", "inpaint", "localise"})
KNOWN_OPERATIONS = frozenset({"generate", "rerun"}) | EDIT_OPERATIONS


def _listing(values: list[str]) -> str:
    values = [str(v) for v in values]
    if len(values) <= 1:
        return "".join(values)
    return ", ".join(values[:-1]) + " or " + values[-1]


def _size_error(profile, size: str) -> str | None:
    match = SIZE_PATTERN.match(size or "")
    if not match:
        return "Give the size as width x height in pixels, like 1200x628."
    width, height = int(match.group(1)), int(match.group(2))
    if width <= 0 or height <= 0:
        return "Width and height must both be at least 1 pixel."
    if profile_accepts(profile, width, height):
        return None
    if profile.size_mode == "fixed":
        return f"This model only makes {_listing(profile.fixed_sizes)} images."
    m = profile.size_multiple
    if width % m or height % m:
        return f"Width and height must both be multiples of {m} pixels for this model."
    if max(width, height) > profile.max_edge:
        return f"The longest side can be at most {profile.max_edge:,} pixels for this model."
    if max(width, height) / min(width, height) > profile.max_aspect:
        return f"This model's images can be at most {profile.max_aspect:g} times wider than tall (or taller than wide)."
    if width * height < profile.min_pixels:
        return f"This model needs at least {profile.min_pixels:,} pixels in total (e.g. 1024x640)."
    return f"This model makes at most {profile.max_pixels:,} pixels in total."


def check_request(
    profile,
    *,
    operation: str,
    size: str,
    quality: str,
    output_format: str,
    background: str,
    n: int,
    has_mask: bool = False,
    has_markup: bool = False,
    input_images: int = 1,
    input_fidelity: str = "",
) -> dict[str, str]:
    """Field -> plain-language error for everything ``profile`` does not allow. Empty when all is well."""
    errors: dict[str, str] = {}
    if operation not in KNOWN_OPERATIONS:
        errors["operation"] = "Choose generate, edit, inpaint or localise."
    if message := _size_error(profile, size):
        errors["size"] = message
    if quality and quality not in (profile.qualities or []):
        errors["quality"] = f"This model offers {_listing(profile.qualities) or 'no quality settings'} quality."
    if output_format not in (profile.output_formats or []):
        errors["output_format"] = f"This model saves images as {_listing(profile.output_formats)} only."
    if background and background not in (profile.backgrounds or []):
        errors["background"] = (
            f"This model supports {_listing(profile.backgrounds)} backgrounds only."
            if profile.backgrounds
            else "This model does not let you choose the background."
        )
    elif background == "transparent" and output_format not in TRANSPARENT_FORMATS:
        errors["background"] = "A transparent background needs PNG or WebP; JPEG has no transparency."
    if not isinstance(n, int) or not 1 <= n <= profile.max_n:
        errors["n"] = f"This model makes 1 to {profile.max_n} variants at a time."
    is_edit = operation in EDIT_OPERATIONS
    if has_mask and not is_edit:
        errors["mask"] = "A mask only applies when editing an image."
    elif has_mask and not profile.supports_mask:
        errors["mask"] = "This model cannot edit just part of an image: remove the mask or pick another deployment."
    if has_markup:
        if not profile.supports_markup:
            errors["markup"] = "This model does not take markup sketches; describe the change in words instead."
        elif has_mask:
            errors["markup"] = "Use either a mask or a markup sketch, not both."
    if input_images < 1 and is_edit:
        errors["references"] = "An edit needs the image to change."
    elif input_images > profile.max_input_images:
        errors["references"] = (
            f"This model takes at most {profile.max_input_images} images per edit (the image "
            f"plus {profile.max_input_images - 1} references)."
        )
    if input_fidelity:
        if not profile.supports_input_fidelity:
            errors["input_fidelity"] = "This model has no input-fidelity setting; leave it empty."
        elif input_fidelity not in ("high", "low"):
            errors["input_fidelity"] = "Input fidelity is high or low."
    return errors
