"""Calibrated estimates: output tokens per image from what this product has recorded, per (model,
quality, pixel class), with the number of observations and a p10-p90 range.

The recorded jobs are the most recent :data:`MAX_OBSERVATIONS` succeeded jobs of the class among the
newest :data:`SCAN_JOBS` jobs (three small queries). With at least :data:`MIN_OBSERVATIONS` of the
exact size, their median is the estimate; with enough of the class at several sizes, a power law
``tokens = a * pixels ** b`` fitted in log space (so a 1200x628 ad is estimated from 1024x1024 and
1536x1024 history without assuming tokens grow linearly with pixels); with a single size, the median
tokens per pixel. With fewer observations the capability profile's ``default_output_tokens`` apply, and
the basis says so. The launch, its preview and a whole
run's estimate all come through :func:`calibrated_estimate`, so they never disagree.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from django.db.models import F

from studio.generation.models import Deployment, GenerationJob, JobStatus
from studio.generation.pricing import Estimate, price_for
from studio.lib.pricing import estimated_cost, pixel_class
from studio.lib.tokens import output_tokens

MIN_OBSERVATIONS = 5
MAX_OBSERVATIONS = 200
SCAN_JOBS = 50_000  # how far back (in jobs) the history reaches


@dataclass(frozen=True)
class Calibration:
    tokens_per_image: float
    observations: int
    low: float | None  # p10 of tokens per image, None without history
    high: float | None  # p90
    method: str  # "exact size", "fitted", "per pixel" or "default"

    @property
    def from_history(self) -> bool:
        return self.method != "default"


def quantile(values: list[float], q: float) -> float:
    """Linear-interpolated quantile (what PostgreSQL's ``percentile_cont`` computes)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    pos = (len(ordered) - 1) * q
    lower = math.floor(pos)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (pos - lower)


def class_bounds(mp: int) -> tuple[int, int]:
    low = 0 if mp == 1 else int((mp - 0.5) * 1_000_000)
    return low, int((mp + 0.5) * 1_000_000)


def observations(*, profile_name: str, quality: str, width: int, height: int) -> list[tuple[int, float]]:
    """``(pixels, output tokens per image)`` of the class's most recent succeeded jobs (three queries)."""
    low, high = class_bounds(pixel_class(width, height))
    # Newest first along the primary key, within the newest SCAN_JOBS jobs: an index range scan that stops
    # at MAX_OBSERVATIONS matches, so a launch's estimate costs the same at a million jobs as at a
    # thousand (ordering by creation time over the whole table read every job: a third of a second).
    # The deployments as a list, not a join, so the plan is a backward scan of the primary key alone.
    newest = GenerationJob.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    deployments = list(Deployment.objects.filter(profile__name=profile_name).values_list("pk", flat=True))
    rows = (
        GenerationJob.objects.filter(
            pk__gt=newest - SCAN_JOBS,
            deployment_id__in=deployments,
            status=JobStatus.SUCCEEDED,
            params__quality=quality,
        )
        .annotate(px=F("planned_width") * F("planned_height"))
        .filter(px__gte=low, px__lt=high)
        .order_by("-pk")
        .values_list("px", "n", "usage")[:MAX_OBSERVATIONS]
    )
    found = []
    for pixels, n, usage in rows:
        tokens = int((usage or {}).get("output_image_tokens") or 0)
        if tokens > 0:
            found.append((pixels, tokens / max(n, 1)))
    return found


def _fit(points: list[tuple[int, float]], pixels: int) -> tuple[float, list[float]]:
    """Least squares in log space; returns the estimate at ``pixels`` and each point's ratio to the fit."""
    xs = [math.log(p) for p, _ in points]
    ys = [math.log(t) for _, t in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    intercept = my - slope * mx
    ratios = [t / math.exp(intercept + slope * math.log(p)) for p, t in points]
    return math.exp(intercept + slope * math.log(pixels)), ratios


def calibrate(*, profile, quality: str, width: int, height: int) -> Calibration:
    """Output tokens per image for a ``width`` x ``height`` image at ``quality`` on ``profile``."""
    pixels = width * height
    points = observations(profile_name=profile.name, quality=quality, width=width, height=height)
    exact = [t for p, t in points if p == pixels]
    if len(exact) >= MIN_OBSERVATIONS:
        return Calibration(
            statistics.median(exact), len(exact), quantile(exact, 0.1), quantile(exact, 0.9), "exact size"
        )
    if len(points) >= MIN_OBSERVATIONS:
        if len({p for p, _ in points}) >= 2:
            estimate, ratios = _fit(points, pixels)
            estimate *= statistics.median(ratios)  # centre on the median, robust to outliers
            scale = estimate / statistics.median(ratios)
            return Calibration(
                estimate, len(points), quantile(ratios, 0.1) * scale, quantile(ratios, 0.9) * scale, "fitted"
            )
        per_pixel = [t / p for p, t in points]
        return Calibration(
            statistics.median(per_pixel) * pixels,
            len(points),
            quantile(per_pixel, 0.1) * pixels,
            quantile(per_pixel, 0.9) * pixels,
            "per pixel",
        )
    defaults = profile.default_output_tokens or {}
    per_reference = defaults.get(quality) or defaults.get("auto") or defaults.get("medium") or 0
    return Calibration(output_tokens(per_reference, width, height), len(points), None, None, "default")


def _basis(calibration: Calibration, *, profile_name: str, quality: str, mp: int) -> str:
    if not calibration.from_history:
        seen = f"{calibration.observations} recorded" if calibration.observations else "no history yet"
        return f"default for {profile_name} at {quality} quality ({seen})"
    return (
        f"from {calibration.observations} recorded jobs at {quality} quality, ~{mp} MP "
        f"({calibration.low:,.0f}-{calibration.high:,.0f} tokens per image, p10-p90)"
    )[:200]


def calibrated_estimate(
    *, deployment, quality: str, width: int, height: int, n: int, prompt: str, input_images: int = 0
) -> Estimate:
    """Estimated USD for a job of ``n`` images at ``width`` x ``height`` (the generation size).
    Raises ``PriceNotFound`` when no price row applies."""
    profile = deployment.profile
    price = price_for(model_name=profile.name, provider=deployment.provider)
    calibration = calibrate(profile=profile, quality=quality, width=width, height=height)
    amount, per_image = estimated_cost(
        price=price, tokens_per_image=calibration.tokens_per_image, n=n, prompt=prompt, input_images=input_images
    )
    basis = _basis(calibration, profile_name=profile.name, quality=quality, mp=pixel_class(width, height))
    return Estimate(amount=amount, basis=basis, per_image=per_image)
