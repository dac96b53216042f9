"""What a job will cost before it runs, looked up from the database.

Prices are data (``PriceTable`` rows with an effective date, USD per 1M tokens). The estimate shown before
a launch (and reserved against the campaign budget) is calibrated from the usage the product has recorded
for the same model, quality and image size class; until there is enough history it falls back to the
capability profile's default token counts, and the basis says which in words so nobody mistakes a guess
for a measurement. The arithmetic (cost of a usage, tokens per image) is ``studio.lib.pricing`` and
``studio.lib.tokens``; this module only finds the numbers.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Case, Count, F, IntegerField, Q, Sum, Value, When
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from studio.generation.models import GenerationJob, JobStatus, PriceTable
from studio.lib.pricing import estimated_cost, pixel_class
from studio.lib.tokens import output_tokens

MIN_HISTORY_JOBS = 5
HISTORY_DAYS = 90


class PriceNotFound(LookupError):
    """No price row applies; the message tells an admin what to add."""


@dataclass(frozen=True)
class Estimate:
    amount: Decimal
    basis: str
    per_image: Decimal


# Every generated image looks its price up twice (before the call, and when its cost is recorded): a
# production run asked the database the same question thousands of times a minute. Each process keeps the
# answer this long; a saved or deleted price row clears it at once in the process that saved it, so an
# admin's edit reaches every worker within this many seconds (``PRICE_MEMO_SECONDS``).
PRICE_MEMO_SECONDS = 15.0
_price_memo: dict[tuple[str, str, dt.date], tuple[float, PriceTable | None]] = {}


def price_memo_clear(**_kwargs) -> None:
    _price_memo.clear()


post_save.connect(price_memo_clear, sender=PriceTable, dispatch_uid="pricing.memo.save")
post_delete.connect(price_memo_clear, sender=PriceTable, dispatch_uid="pricing.memo.delete")


def price_for(*, model_name: str, provider: str = "", on: dt.date | None = None) -> PriceTable:
    """The newest row effective on ``on`` (default today). A row for ``provider`` beats a blank-provider row
    even when the blank one is newer: a provider-specific price is a deliberate admin choice."""
    on = on or timezone.localdate()
    key = (model_name, provider, on)
    now = time.monotonic()
    memo = _price_memo.get(key)
    if memo is not None and memo[0] > now:
        row = memo[1]
    else:
        row = _price_lookup(model_name=model_name, provider=provider, on=on)
        _price_memo[key] = (now + PRICE_MEMO_SECONDS, row)
    if row is None:
        raise PriceNotFound(
            f"There is no price for {model_name} on {on:%d %b %Y}; an admin needs to add one under Price tables."
        )
    return row


def _price_lookup(*, model_name: str, provider: str, on: dt.date) -> PriceTable | None:
    return (
        PriceTable.objects.filter(model_name=model_name, effective_from__lte=on)
        .filter(Q(provider=provider) | Q(provider=""))
        .annotate(specific=Case(When(provider=provider, then=Value(0)), default=Value(1), output_field=IntegerField()))
        .order_by("specific", "-effective_from")
        .first()
    )


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
        tokens_per_image = output_tokens(per_reference, width, height)
        basis = f"default for {profile.name} at {quality} quality (no history yet)"
    amount, per_image = estimated_cost(
        price=price, tokens_per_image=tokens_per_image, n=n, prompt=prompt, input_images=input_images
    )
    return Estimate(amount=amount, basis=basis, per_image=per_image)
