"""Exact-size renditions of an approved image: crop around a focal point, then resize, never stretch.

Channel-true output: a rendition may only trim an image composed for nearly the same shape. The plan
(:func:`plan_rendition`, arithmetic only, so pages can show it before any pixel is touched) refuses a
target whose aspect differs from the source's by more than :data:`ASPECT_TOLERANCE`; such a format needs
its own generation (a run cell), never a silent crop. Upscaling is never silent either: the plan says
how much and warns beyond :data:`UPSCALE_WARN_ABOVE`.

:func:`make_rendition` is the low-level crop-and-resize (any aspect, for callers that planned
themselves); :func:`channel_rendition` is what publishing uses: plan with the tolerance, then render.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from studio.lib.imaging.formats import JPEG, STORED, WEBP, by_name
from studio.lib.sizing import SizeError, check_target

# How far a target's aspect may differ from the source's and still be reached by trimming: 10% (the
# larger ratio over the smaller, minus one). 1216x640 (1.90) -> 1200x628 (1.91) trims a sliver; 1216x640
# -> 1080x1920 (0.56) would cut away two thirds of the picture, its headline with it.
ASPECT_TOLERANCE = 0.10
# Upscaling up to this factor is said in the notes; beyond it the notes warn of softer detail.
UPSCALE_WARN_ABOVE = 1.25
# Below this, a scale factor is rounding, not a resize worth mentioning.
_SCALE_EPSILON = 0.005


class RenditionRefused(SizeError):
    """A target this source cannot be trimmed to without losing its composition."""


def _clamp01(value: Any, default: float = 0.5) -> float:
    if value is None:
        return default
    return min(max(float(value), 0.0), 1.0)


@dataclass(frozen=True)
class SafeZone:
    """Where a channel covers the picture (insets as fractions of the rendition's width and height)."""

    top: float
    right: float
    bottom: float
    left: float
    label: str


# Channel safe zones, matched by a keyword in the format's channel or name (first match wins). Stories
# and reels put the account name on top and the reply bar and captions at the bottom.
SAFE_ZONES: tuple[tuple[tuple[str, ...], SafeZone], ...] = (
    (
        ("story", "stories", "reel", "tiktok", "shorts"),
        SafeZone(
            0.14, 0.06, 0.20, 0.06, "Keep text and logos out of the top 14% and bottom 20% (profile and reply bar)."
        ),
    ),
    (
        ("search", "banner", "display", "leaderboard"),
        SafeZone(0.08, 0.04, 0.08, 0.04, "Keep text 8% from the top and bottom and 4% from the sides."),
    ),
)
DEFAULT_SAFE_ZONE = SafeZone(0.05, 0.05, 0.05, 0.05, "Keep text and logos 5% away from every edge.")


def safe_zone_for(*, channel: str = "", name: str = "") -> SafeZone:
    words = f"{channel} {name}".lower()
    for keywords, zone in SAFE_ZONES:
        if any(word in words for word in keywords):
            return zone
    return DEFAULT_SAFE_ZONE


@dataclass(frozen=True)
class RenditionPlan:
    """How ``source`` becomes ``target``: the crop box (source pixels: left, top, right, bottom), the
    scale from crop to target, and either notes or the refusal."""

    source_width: int
    source_height: int
    target_width: int
    target_height: int
    focal: tuple[float, float]
    crop_box: tuple[int, int, int, int]
    aspect_difference: float
    scale: float
    refusal: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.refusal

    @property
    def crop_width(self) -> int:
        return self.crop_box[2] - self.crop_box[0]

    @property
    def crop_height(self) -> int:
        return self.crop_box[3] - self.crop_box[1]

    @property
    def trims(self) -> bool:
        return (self.crop_width, self.crop_height) != (self.source_width, self.source_height)

    @property
    def upscales(self) -> bool:
        return self.scale > 1 + _SCALE_EPSILON

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": f"{self.source_width}x{self.source_height}",
            "target": f"{self.target_width}x{self.target_height}",
            "focal": [round(self.focal[0], 4), round(self.focal[1], 4)],
            "crop_box": list(self.crop_box),
            "aspect_difference": round(self.aspect_difference, 4),
            "scale": round(self.scale, 4),
            "refusal": self.refusal,
            "notes": list(self.notes),
        }


def aspect_difference(a_width: int, a_height: int, b_width: int, b_height: int) -> float:
    """The larger aspect over the smaller, minus one: 0.0 for the same shape, 0.10 for 10% apart."""
    a, b = a_width / a_height, b_width / b_height
    return max(a, b) / min(a, b) - 1.0


def _crop_box(sw: int, sh: int, tw: int, th: int, fx: float, fy: float) -> tuple[int, int, int, int]:
    """The largest box of the target's aspect inside the source, centred on the focal point as far as
    the edges allow."""
    target_aspect = tw / th
    if sw / sh > target_aspect:  # source wider: trim the sides
        cw, ch = max(1, min(sw, round(sh * target_aspect))), sh
    else:  # source taller (or equal): trim top and bottom
        cw, ch = sw, max(1, min(sh, round(sw / target_aspect)))
    left = min(max(round(fx * sw - cw / 2), 0), sw - cw)
    top = min(max(round(fy * sh - ch / 2), 0), sh - ch)
    return left, top, left + cw, top + ch


def _focal_words(fx: float, fy: float) -> str:
    if abs(fx - 0.5) < 0.005 and abs(fy - 0.5) < 0.005:
        return "around the centre"
    return f"around the focal point ({round(fx * 100)}% across, {round(fy * 100)}% down)"


def plan_rendition(
    *,
    source_width: int,
    source_height: int,
    target_width: int,
    target_height: int,
    focal: tuple[float | None, float | None] | None = None,
    target_name: str = "",
    aspect_tolerance: float | None = ASPECT_TOLERANCE,
) -> RenditionPlan:
    """Plan a rendition; ``refusal`` says why it cannot be made when the shapes are too far apart.

    ``focal`` is (x, y) as fractions of the source (None = the centre). ``aspect_tolerance=None`` plans
    any crop (for callers that showed the crop and were told to make it anyway: none in the product)."""
    tw, th = check_target(target_width, target_height)
    sw, sh = check_target(source_width, source_height)
    fx, fy = (_clamp01(focal[0]), _clamp01(focal[1])) if focal else (0.5, 0.5)
    box = _crop_box(sw, sh, tw, th, fx, fy)
    difference = aspect_difference(sw, sh, tw, th)
    scale = max(tw / (box[2] - box[0]), th / (box[3] - box[1]))
    target_words = f"{tw}x{th}" + (f" {target_name}" if target_name else "")
    if aspect_tolerance is not None and difference > aspect_tolerance + 1e-9:
        refusal = (
            f"This image was composed for {sw}x{sh}; a {target_words} needs its own generation "
            f"— launch a run cell for that format."
        )
        return RenditionPlan(sw, sh, tw, th, (fx, fy), box, difference, scale, refusal=refusal)
    notes: list[str] = []
    if (box[2] - box[0], box[3] - box[1]) != (sw, sh):
        notes.append(f"Trimmed {sw}x{sh} to {box[2] - box[0]}x{box[3] - box[1]} {_focal_words(fx, fy)}.")
    if scale > UPSCALE_WARN_ABOVE:
        notes.append(
            f"Scaled up {scale:.2f}x to {tw}x{th}: expect softer detail (generate at this format's size for a "
            "sharper image)."
        )
    elif scale > 1 + _SCALE_EPSILON:
        notes.append(f"Scaled up {scale:.2f}x to {tw}x{th}.")
    elif scale < 1 - _SCALE_EPSILON:
        notes.append(f"Scaled down to {tw}x{th}.")
    if not notes:
        notes.append(f"Used as it is at {tw}x{th}.")
    return RenditionPlan(sw, sh, tw, th, (fx, fy), box, difference, scale, notes=notes)


def _render(source: bytes, *, box: tuple[int, int, int, int] | None, focal, width: int, height: int, fmt) -> bytes:
    with Image.open(io.BytesIO(source)) as img:
        img.load()
        mode = "RGB" if fmt is JPEG or img.mode not in ("RGBA", "LA", "P") else "RGBA"
        img = img.convert(mode)
        if box is None:
            box = _crop_box(img.width, img.height, width, height, focal[0], focal[1])
        fitted = img.crop(box).resize((width, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    options: dict[str, Any] = {"quality": 90} if fmt in (JPEG, WEBP) else {"optimize": False}
    fitted.save(out, format=fmt.pillow, **options)
    return out.getvalue()


def _output_format(output_format: str):
    fmt = by_name(output_format, STORED)
    if fmt is None:
        raise SizeError(f"Cannot save a rendition as {output_format!r}: choose png, jpeg or webp.")
    return fmt


def make_rendition(
    *, source: bytes, width: int, height: int, focal: tuple[float, float] = (0.5, 0.5), output_format: str = "png"
) -> bytes:
    """Crop ``source`` around ``focal`` (fractions of width/height) to the target aspect, then resize with
    LANCZOS to exactly ``width`` x ``height``. Cropping first means nothing is ever stretched. No
    tolerance: callers that publish use :func:`channel_rendition`."""
    check_target(width, height)
    fmt = _output_format(output_format)
    return _render(
        source, box=None, focal=(_clamp01(focal[0]), _clamp01(focal[1])), width=width, height=height, fmt=fmt
    )


def channel_rendition(
    *,
    source: bytes,
    width: int,
    height: int,
    focal: tuple[float | None, float | None] | None = None,
    target_name: str = "",
    output_format: str = "png",
) -> tuple[bytes, RenditionPlan]:
    """The rendition a channel gets, and its plan; :class:`RenditionRefused` beyond the tolerance."""
    fmt = _output_format(output_format)
    with Image.open(io.BytesIO(source)) as img:
        source_size = img.size
    plan = plan_rendition(
        source_width=source_size[0],
        source_height=source_size[1],
        target_width=width,
        target_height=height,
        focal=focal,
        target_name=target_name,
    )
    if not plan.ok:
        raise RenditionRefused(plan.refusal)
    return _render(source, box=plan.crop_box, focal=plan.focal, width=width, height=height, fmt=fmt), plan
