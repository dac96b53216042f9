"""What a job will cost before it runs, and what it did cost after.

Prices are data (``PriceTable`` rows with an effective date, USD per 1M tokens). The estimate shown before
a launch (and reserved against the campaign budget) is calibrated from the usage the product has recorded
for the same model, quality and image size class; until there is enough history it falls back to the
capability profile's default token counts, and the basis says which in words so nobody mistakes a guess
for a measurement.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Case, Count, F, IntegerField, Q, Sum, Value, When
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from studio.generation.models import GenerationJob, JobStatus, PriceTable
from studio.lib.providers.base import Usage

PER_MILLION = Decimal(1_000_000)
COST_QUANTUM = Decimal("0.000001")
REFERENCE_PIXELS = 1024 * 1024
MIN_HISTORY_JOBS = 5
HISTORY_DAYS = 90
# Input image tokens per input image for edits when nothing better is known (a ~1 MP image in tiles).
INPUT_IMAGE_TOKENS = 1_500
CHARS_PER_TOKEN = 4


class PriceNotFound(LookupError):
    """No price row applies; the message tells an admin what to add."""


@dataclass(frozen=True)
class Estimate:
    amount: Decimal
    basis: str
    per_image: Decimal


def price_for(*, model_name: str, provider: str = "", on: dt.date | None = None) -> PriceTable:
    """The newest row effective on ``on`` (default today). A row for ``provider`` beats a blank-provider row
    even when the blank one is newer: a provider-specific price is a deliberate admin choice."""
    on = on or timezone.localdate()
    row = (
        PriceTable.objects.filter(model_name=model_name, effective_from__lte=on)
        .filter(Q(provider=provider) | Q(provider=""))
        .annotate(specific=Case(When(provider=provider, then=Value(0)), default=Value(1), output_field=IntegerField()))
        .order_by("specific", "-effective_from")
        .first()
    )
    if row is None:
        raise PriceNotFound(
            f"There is no price for {model_name} on {on:%d %b %Y}; an admin needs to add one under Price tables."
        )
    return row


def usage_from_dict(data: dict[str, Any]) -> Usage:
    """Accepts ``Usage.as_dict()`` output (what jobs store) or the API's own ``usage`` object."""
    if "input_tokens_details" in data or "input_tokens" in data:
        from studio.lib.providers.parsing import parse_usage

        return parse_usage(data)
    fields = Usage.__dataclass_fields__
    return Usage(**{key: int(data.get(key) or 0) for key in fields})


def cost_of_usage(usage: Usage | dict[str, Any], price: PriceTable) -> Decimal:
    """USD for ``usage``. Cached tokens are priced as cached and taken out of the uncached counts."""
    if isinstance(usage, dict):
        usage = usage_from_dict(usage)
    cached_text = min(usage.cached_text_tokens, usage.input_text_tokens)
    cached_image = min(usage.cached_image_tokens, usage.input_image_tokens)
    total = (
        (usage.input_text_tokens - cached_text) * price.text_input
        + cached_text * price.cached_text_input
        + (usage.input_image_tokens - cached_image) * price.image_input
        + cached_image * price.cached_image_input
        + usage.output_image_tokens * price.image_output
        + usage.output_text_tokens * price.text_output
    )
    return (Decimal(total) / PER_MILLION).quantize(COST_QUANTUM)


def pixel_class(width: int, height: int) -> int:
    """Bucket by whole megapixels (at least 1) so a 1200x628 ad is priced from other ~1 MP images."""
    return max(1, round(width * height / 1_000_000))


def _class_bounds(mp: int) -> tuple[int, int]:
    low = 0 if mp == 1 else int((mp - 0.5) * 1_000_000)
    return low, int((mp + 0.5) * 1_000_000)


def _history(*, profile_name: str, quality: str, width: int, height: int) -> tuple[int, float | None]:
    """(jobs, output image tokens per pixel) over recent succeeded jobs of this model, quality and size
    class, in one aggregate query."""
    low, high = _class_bounds(pixel_class(width, height))
    since = timezone.now() - dt.timedelta(days=HISTORY_DAYS)
    tokens = Cast(KeyTextTransform("output_image_tokens", "usage"), IntegerField())
    result = (
        GenerationJob.objects.filter(
            deployment__profile__name=profile_name,
            status=JobStatus.SUCCEEDED,
            params__quality=quality,
            created_at__gte=since,
        )
        .annotate(px=F("planned_width") * F("planned_height"), out=tokens)
        .filter(px__gte=low, px__lt=high, out__gt=0)
        .aggregate(
            jobs=Count("pk"),
            tokens=Coalesce(Sum("out"), 0),
            pixels=Coalesce(Sum(F("px") * F("n")), 0),
        )
    )
    if not result["jobs"] or not result["pixels"]:
        return result["jobs"] or 0, None
    return result["jobs"], result["tokens"] / result["pixels"]


def estimate_job_cost(
    *, deployment, quality: str, width: int, height: int, n: int, prompt: str, input_images: int = 0
) -> Estimate:
    """Estimated USD for a job of ``n`` images at ``width`` x ``height`` (the generation size)."""
    profile = deployment.profile
    price = price_for(model_name=profile.name, provider=deployment.provider)
    pixels = width * height
    mp = pixel_class(width, height)
    jobs, per_pixel = _history(profile_name=profile.name, quality=quality, width=width, height=height)
    if jobs >= MIN_HISTORY_JOBS and per_pixel:
        tokens_per_image = per_pixel * pixels
        basis = f"from {jobs} recent jobs at {quality} quality, ~{mp} MP"
    else:
        defaults = profile.default_output_tokens or {}
        per_reference = defaults.get(quality) or defaults.get("auto") or defaults.get("medium") or 0
        tokens_per_image = float(per_reference) * pixels / REFERENCE_PIXELS
        basis = f"default for {profile.name} at {quality} quality (no history yet)"
    usage = Usage(
        input_text_tokens=math.ceil(len(prompt) / CHARS_PER_TOKEN),
        input_image_tokens=INPUT_IMAGE_TOKENS * max(0, input_images),
        output_image_tokens=math.ceil(tokens_per_image) * n,
    )
    per_image = cost_of_usage(Usage(output_image_tokens=math.ceil(tokens_per_image)), price)
    return Estimate(amount=cost_of_usage(usage, price), basis=basis, per_image=per_image)
