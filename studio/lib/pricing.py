"""Pricing arithmetic: what a usage costs at a price row's rates, and what a planned job will use.

Pure numbers, no database: a price is anything with the six per-million rates (a ``PriceTable`` row, or
:class:`Rates` in tests and tools). Looking prices up and calibrating estimates from recorded jobs is
``studio.generation.pricing``. Every money amount is quantised to :data:`COST_QUANTUM` (one millionth
of a dollar, the precision the cost columns store).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from studio.lib.providers.base import Usage
from studio.lib.providers.parsing import parse_usage
from studio.lib.tokens import INPUT_IMAGE_TOKENS, prompt_tokens

PER_MILLION = Decimal(1_000_000)
COST_QUANTUM = Decimal("0.000001")


class PriceRates(Protocol):
    """USD per 1M tokens of each kind (what a ``PriceTable`` row carries)."""

    text_input: Decimal
    cached_text_input: Decimal
    image_input: Decimal
    cached_image_input: Decimal
    image_output: Decimal
    text_output: Decimal


@dataclass(frozen=True)
class Rates:
    """Plain :class:`PriceRates`, for callers without a price row."""

    text_input: Decimal = Decimal(0)
    cached_text_input: Decimal = Decimal(0)
    image_input: Decimal = Decimal(0)
    cached_image_input: Decimal = Decimal(0)
    image_output: Decimal = Decimal(0)
    text_output: Decimal = Decimal(0)


def quantize_cost(amount: Decimal) -> Decimal:
    """``amount`` rounded to :data:`COST_QUANTUM`, the precision every stored cost has."""
    return Decimal(amount).quantize(COST_QUANTUM)


def usage_from_dict(data: dict[str, Any]) -> Usage:
    """Accepts ``Usage.as_dict()`` output (what jobs store) or the API's own ``usage`` object."""
    if "input_tokens_details" in data or "input_tokens" in data:
        return parse_usage(data)
    fields = Usage.__dataclass_fields__
    return Usage(**{key: int(data.get(key) or 0) for key in fields})


def cost_of_usage(usage: Usage | dict[str, Any], price: PriceRates) -> Decimal:
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
    return quantize_cost(Decimal(total) / PER_MILLION)


def pixel_class(width: int, height: int) -> int:
    """Bucket by whole megapixels (at least 1) so a 1200x628 ad is priced from other ~1 MP images."""
    return max(1, round(width * height / 1_000_000))


def planned_usage(*, tokens_per_image: float, n: int, prompt: str, input_images: int = 0) -> Usage:
    """The usage a job of ``n`` images is expected to report: the prompt's text, the input images of an
    edit (a flat count each), and ``tokens_per_image`` output tokens per image (rounded up)."""
    return Usage(
        input_text_tokens=prompt_tokens(prompt),
        input_image_tokens=INPUT_IMAGE_TOKENS * max(0, input_images),
        output_image_tokens=math.ceil(tokens_per_image) * n,
    )


def estimated_cost(
    *, price: PriceRates, tokens_per_image: float, n: int, prompt: str, input_images: int = 0
) -> tuple[Decimal, Decimal]:
    """``(amount, per_image)`` in USD for a planned job (``per_image`` counts output tokens only)."""
    usage = planned_usage(tokens_per_image=tokens_per_image, n=n, prompt=prompt, input_images=input_images)
    per_image = cost_of_usage(Usage(output_image_tokens=math.ceil(tokens_per_image)), price)
    return cost_of_usage(usage, price), per_image
