"""Exact output sizes from models that only accept certain sizes.

Users ask for exact pixels (a 1200x628 ad, a 300x250 banner); models accept sizes under rules (multiples
of 16, aspect 1:3..3:1, an edge limit and a pixel budget) or a handful of fixed sizes. The product never
relies on a service silently resizing: ``plan_size`` chooses the generation size itself, explains the
choice in plain words (shown before any money is spent, recorded on the job), and
``studio.lib.imaging.renditions.make_rendition`` later crops around a focal point and resizes the approved
image to exactly the target.

The rules come from the capability profile (data), never from the model's name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

# The longest image edge the product handles anywhere: target sizes, uploads, masks (and the format model).
# No channel needs more; it bounds user input long before Pillow's own limits.
MAX_EDGE_PX = 16384
# An exact-aspect size needs no trimming at all; it is preferred over a closer-in-size one when its edge
# length is within this fraction of the ideal (the product owner's 300x250 -> 960x800 example).
EXACT_ASPECT_SLACK = 0.10
# Aspect error weighs more than size error: a slightly bigger image costs a little, a wrong shape crops.
ASPECT_WEIGHT = 4.0
SOFT_DETAIL_SCALE = 1.5


class SizeError(ValueError):
    """A target size no plan can serve; the message is one line a marketer can act on."""


@dataclass(frozen=True)
class SizePlan:
    target_width: int
    target_height: int
    width: int
    height: int
    pixels: int
    scale: float
    crop: bool
    crop_aspect: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"

    @property
    def target(self) -> str:
        return f"{self.target_width}x{self.target_height}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "generation": self.size,
            "pixels": self.pixels,
            "scale": round(self.scale, 4),
            "crop": self.crop,
            "crop_aspect": self.crop_aspect,
            "notes": list(self.notes),
        }


def _ratio_label(width: int, height: int) -> str:
    """ "4:1" for simple ratios, "1.91:1" otherwise (a marketer reads 300:157 as noise)."""
    frac = Fraction(width, height)
    if frac.numerator <= 32 and frac.denominator <= 32:
        return f"{frac.numerator}:{frac.denominator}"
    if width >= height:
        return f"{width / height:.2f}:1"
    return f"1:{height / width:.2f}"


def check_target(width: Any, height: Any) -> tuple[int, int]:
    """``(width, height)`` when they are a target we can make; :class:`SizeError` in plain words otherwise."""
    if isinstance(width, bool) or isinstance(height, bool) or not isinstance(width, int) or not isinstance(height, int):
        raise SizeError("Give the size as two whole numbers of pixels, like 1200x628.")
    if width <= 0 or height <= 0:
        raise SizeError(f"{width}x{height} is not a size: width and height must be at least 1 pixel.")
    if width > MAX_EDGE_PX or height > MAX_EDGE_PX:
        raise SizeError(f"{width}x{height} is too large: no edge may exceed {MAX_EDGE_PX:,} pixels.")
    return width, height


def profile_accepts(profile, width: int, height: int) -> bool:
    """Whether the model described by ``profile`` accepts ``width`` x ``height`` as a generation size."""
    if profile.size_mode == "fixed":
        return f"{width}x{height}" in (profile.fixed_sizes or [])
    m = profile.size_multiple or 1
    if width <= 0 or height <= 0 or width % m or height % m:
        return False
    if max(width, height) > profile.max_edge:
        return False
    if max(width, height) / min(width, height) > profile.max_aspect + 1e-9:
        return False
    return profile.min_pixels <= width * height <= profile.max_pixels


def _parse_fixed(sizes: list[str]) -> list[tuple[int, int]]:
    parsed = []
    for size in sizes or []:
        w, _, h = str(size).lower().partition("x")
        if w.isdigit() and h.isdigit() and int(w) > 0 and int(h) > 0:
            parsed.append((int(w), int(h)))
    return parsed


def _flexible_candidates(profile, aspect: float) -> set[tuple[int, int]]:
    """Sizes near ``aspect`` the profile accepts: for every width (and every height) on the grid, the
    nearest heights (widths) on either side."""
    m = profile.size_multiple or 1
    found: set[tuple[int, int]] = set()
    for edge in range(m, profile.max_edge + 1, m):
        other = edge / aspect
        for h in (math.floor(other / m) * m, math.ceil(other / m) * m):
            if profile_accepts(profile, edge, h):
                found.add((edge, h))
        other = edge * aspect
        for w in (math.floor(other / m) * m, math.ceil(other / m) * m):
            if profile_accepts(profile, w, edge):
                found.add((w, edge))
    return found


def _choose_flexible(profile, target_w: int, target_h: int) -> tuple[int, int, str]:
    """Returns (width, height, reason) where reason names the rule that moved the size, or ""."""
    target_aspect = Fraction(target_w, target_h)
    max_aspect = Fraction(profile.max_aspect).limit_denominator(1000)
    aspect = min(max(target_aspect, 1 / max_aspect), max_aspect)
    # What the generation must cover so the target needs no upscaling: after a forced crop only the
    # longer dimension's share survives.
    if target_aspect > aspect:
        need_w, need_h = float(target_w), target_w / float(aspect)
    elif target_aspect < aspect:
        need_w, need_h = target_h * float(aspect), float(target_h)
    else:
        need_w, need_h = float(target_w), float(target_h)
    scale, reason = 1.0, ""
    pixels = need_w * need_h
    if pixels > profile.max_pixels:
        scale, reason = math.sqrt(profile.max_pixels / pixels), "budget"
    if max(need_w, need_h) * scale > profile.max_edge:
        scale, reason = profile.max_edge / max(need_w, need_h), "edge"
    if pixels * scale * scale < profile.min_pixels:
        scale, reason = math.sqrt(profile.min_pixels / pixels), "floor"
    ideal_w, ideal_h = need_w * scale, need_h * scale
    growing = scale >= 1.0

    candidates = _flexible_candidates(profile, float(aspect))
    if not candidates:
        raise SizeError(f"The model's size rules ({profile}) leave no size to generate at; ask an admin to check them.")

    def size_ratio(c: tuple[int, int]) -> float:
        return math.sqrt(c[0] * c[1] / (ideal_w * ideal_h))

    def aspect_error(c: tuple[int, int]) -> float:
        return abs(math.log(c[0] / c[1] / float(aspect)))

    def covers(c: tuple[int, int]) -> bool:
        return c[0] >= math.floor(ideal_w) and c[1] >= math.floor(ideal_h)

    exact = [
        c
        for c in candidates
        if Fraction(c[0], c[1]) == aspect and abs(math.log(size_ratio(c))) <= math.log(1 + EXACT_ASPECT_SLACK)
    ]
    if growing:
        exact = [c for c in exact if covers(c)] or exact
    if exact:
        best = min(exact, key=lambda c: (abs(math.log(size_ratio(c))), -c[0] * c[1]))
        return best[0], best[1], reason
    pool = [c for c in candidates if covers(c)] if growing else list(candidates)
    pool = pool or list(candidates)
    best = min(pool, key=lambda c: (ASPECT_WEIGHT * aspect_error(c) + abs(math.log(size_ratio(c))), -c[0] * c[1]))
    return best[0], best[1], reason


def _choose_fixed(profile, target_w: int, target_h: int) -> tuple[int, int]:
    sizes = _parse_fixed(profile.fixed_sizes)
    if not sizes:
        raise SizeError(f"The model ({profile}) has no standard sizes configured; ask an admin to add them.")
    want = math.log(target_w / target_h)
    best = min(sizes, key=lambda s: (round(abs(math.log(s[0] / s[1]) - want), 9), -s[0] * s[1]))
    return best


def _scale_words(scale: float) -> str:
    if scale > 1.005:
        text = f"scaling up {scale:.2f}x"
        if scale >= SOFT_DETAIL_SCALE:
            text += " — expect softer detail"
        return text
    if scale < 0.995:
        return "scaling down"
    return ""


def plan_size(*, target_width: int, target_height: int, profile) -> SizePlan:
    """Choose the generation size for an exact target under ``profile``'s rules, and say why."""
    tw, th = check_target(target_width, target_height)
    target = f"{tw}x{th}"
    fixed = profile.size_mode == "fixed"
    if fixed:
        w, h = _choose_fixed(profile, tw, th)
        reason = ""
    else:
        w, h, reason = _choose_flexible(profile, tw, th)
    scale = max(tw / w, th / h)
    target_aspect = tw / th
    if fixed:
        crop = abs(math.log(target_aspect / (w / h))) > 0.01
    else:
        crop = not (1 / profile.max_aspect - 1e-9 <= target_aspect <= profile.max_aspect + 1e-9)
    crop_aspect = _ratio_label(tw, th) if crop else ""

    if fixed:
        lead = f"{target} is not one of the model's standard sizes" if target not in profile.fixed_sizes else ""
    elif crop:
        limit = Fraction(profile.max_aspect).limit_denominator(1000)
        lead = (
            f"{target} is wider than {limit.numerator}:{limit.denominator}"
            if target_aspect > 1
            else f"{target} is taller than {limit.denominator}:{limit.numerator}"
        )
    elif reason == "budget":
        lead = f"{target} is over the {profile.max_pixels:,}-pixel budget"
    elif reason == "edge":
        lead = f"{target} is longer than the {profile.max_edge:,}-pixel edge limit"
    elif reason == "floor":
        lead = f"{target} is under the {profile.min_pixels:,}-pixel floor"
    elif (w, h) != (tw, th):
        lead = f"{target} is not a size the model accepts directly"
    else:
        lead = ""

    notes: list[str] = []
    if lead:
        steps = [f"generating {w}x{h}"]
        if crop:
            steps.append(f"cropping to {crop_aspect}")
        words = _scale_words(scale)
        if words:
            steps.append(words)
        elif not crop:
            steps.append(f"trimming to exactly {target}")
        sentence = steps[0] + (", " + ", ".join(steps[1:-1]) if len(steps) > 2 else "")
        if len(steps) > 1:
            sentence += " and " + steps[-1]
        notes.append(f"{lead}: {sentence}")
    return SizePlan(
        target_width=tw,
        target_height=th,
        width=w,
        height=h,
        pixels=w * h,
        scale=scale,
        crop=crop,
        crop_aspect=crop_aspect,
        notes=notes,
    )


def check_returned_size(plan: SizePlan, width: int, height: int) -> str | None:
    """A message when the service returned another size than planned (``size=auto`` or a silent resize),
    so the variant is flagged and its rendition is planned from the real pixels."""
    if (width, height) == (plan.width, plan.height):
        return None
    return (
        f"The service returned {width}x{height} instead of the planned {plan.width}x{plan.height}; "
        f"the exact {plan.target_width}x{plan.target_height} output is made from the real image."
    )


def smallest_size(profile) -> tuple[int, int]:
    """The cheapest size the profile accepts (closest to square on ties): for connection tests."""
    if profile.size_mode == "fixed":
        sizes = _parse_fixed(profile.fixed_sizes)
        if not sizes:
            raise SizeError(f"The model ({profile}) has no standard sizes configured; ask an admin to add them.")
        return min(sizes, key=lambda s: (s[0] * s[1], abs(math.log(s[0] / s[1]))))
    m = profile.size_multiple or 1
    best: tuple[int, int] | None = None
    for w in range(m, profile.max_edge + 1, m):
        h = max(m, math.ceil(profile.min_pixels / w / m) * m)
        if not profile_accepts(profile, w, h):
            continue
        if best is None or (w * h, round(abs(math.log(w / h)), 9), -w) < (
            best[0] * best[1],
            round(abs(math.log(best[0] / best[1])), 9),
            -best[0],
        ):
            best = (w, h)
    if best is None:
        raise SizeError(f"The model's size rules ({profile}) leave no size to generate at; ask an admin to check them.")
    return best
