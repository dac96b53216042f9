"""Built-in capability profiles and prices, so a fresh install can plan, check and price requests.

``catalog_sync`` creates what is missing and never overwrites a row an admin has edited: capabilities
and prices change monthly and the admin's copy is the truth once it exists.

Prices: the only published numbers are Foundry Standard Global's for ``gpt-image-2`` (effective
2026-04-21). They are seeded for provider "azure-openai" and, with the same numbers, for the blank
provider so offline and OpenAI estimates work. OpenAI's own list price should be entered by an admin as
a row with provider "openai". The rows for every other model are ADMIN-EDITABLE PLACEHOLDERS copied from
gpt-image-2's numbers, not published prices.

``default_output_tokens`` are output image tokens per 1024x1024-equivalent image by quality, used only
until the product has recorded real usage (the one table is ``studio.lib.tokens.DEFAULT_OUTPUT_TOKENS``).
gpt-image-2's counts are not published; gpt-image-1's published 1024x1024 counts (272/1056/4160) are the
starting point, and xhigh/max are extrapolations.
"""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction

from studio.generation.models import CapabilityProfile, PriceTable, SizeMode
from studio.lib.imaging.formats import JPEG, PNG, WEBP
from studio.lib.tokens import BASE_QUALITIES, DEFAULT_OUTPUT_TOKENS

STANDARD_SIZES = ["1024x1024", "1536x1024", "1024x1536"]
BASE_TOKENS = {quality: DEFAULT_OUTPUT_TOKENS[quality] for quality in BASE_QUALITIES}
EXTENDED_TOKENS = dict(DEFAULT_OUTPUT_TOKENS)

_FLEXIBLE: dict[str, Any] = {
    "size_mode": SizeMode.FLEXIBLE,
    "fixed_sizes": [],
    "size_multiple": 16,
    "max_edge": 3840,
    "min_pixels": 655_360,
    "max_pixels": 8_294_400,
    "max_aspect": 3.0,
    # What the gpt-image APIs offer (the vendor's list, not STORED itself), spelled as the format table spells it.
    "output_formats": [PNG.name, JPEG.name, WEBP.name],
    "max_n": 10,
    "max_input_images": 16,
    "supports_mask": True,
    "supports_input_fidelity": False,
}
_FIXED: dict[str, Any] = {
    **_FLEXIBLE,
    "size_mode": SizeMode.FIXED,
    "fixed_sizes": STANDARD_SIZES,
    "qualities": ["low", "medium", "high", "auto"],
    "backgrounds": ["transparent", "opaque", "auto"],
    "supports_markup": False,
    "supports_input_fidelity": True,
    "default_output_tokens": BASE_TOKENS,
}

PROFILES: dict[str, dict[str, Any]] = {
    # Transparent backgrounds are a preview on gpt-image-2: an admin may add "transparent" here.
    "gpt-image-2": {
        **_FLEXIBLE,
        "qualities": ["low", "medium", "high", "auto"],
        "backgrounds": ["opaque", "auto"],
        "supports_markup": False,
        "default_output_tokens": BASE_TOKENS,
        "deprecated": False,
    },
    "gpt-image-2.5-sunburst": {
        **_FLEXIBLE,
        "qualities": ["low", "medium", "high", "xhigh", "max", "auto"],
        "backgrounds": ["transparent", "opaque", "auto"],
        "supports_markup": True,
        "default_output_tokens": EXTENDED_TOKENS,
        "deprecated": False,
    },
    "gpt-image-2.5-flare": {
        **_FLEXIBLE,
        "qualities": ["low", "medium", "high", "xhigh", "max", "auto"],
        "backgrounds": ["transparent", "opaque", "auto"],
        "supports_markup": True,
        "default_output_tokens": EXTENDED_TOKENS,
        "deprecated": False,
    },
    "gpt-image-1.5": {**_FIXED, "deprecated": False},
    "gpt-image-1-mini": {**_FIXED, "deprecated": True},
}

PRICE_EFFECTIVE_FROM = dt.date(2026, 4, 21)
GPT_IMAGE_2_PRICES = {
    "image_input": Decimal("8"),
    "cached_image_input": Decimal("2"),
    "image_output": Decimal("30"),
    "text_input": Decimal("5"),
    "cached_text_input": Decimal("1.25"),
    "text_output": Decimal("10"),
}
# (model_name, provider): published for Foundry; the rest are placeholders an admin should correct.
PRICES: list[tuple[str, str]] = [
    ("gpt-image-2", "azure-openai"),
    ("gpt-image-2", ""),  # same numbers, so offline and OpenAI estimates work until an admin enters OpenAI's
    *[(name, "") for name in PROFILES if name != "gpt-image-2"],
]


def builtin_profile(name: str) -> CapabilityProfile | None:
    """An unsaved profile from the built-in definitions (for tools that must work on an empty database)."""
    definition = PROFILES.get(name)
    if definition is None:
        return None
    return CapabilityProfile(name=name, **copy.deepcopy(definition))


@transaction.atomic
def catalog_sync() -> None:
    """Create the built-in profiles and prices that are missing. Existing rows are left exactly as they are."""
    for name, definition in PROFILES.items():
        CapabilityProfile.objects.get_or_create(name=name, defaults=copy.deepcopy(definition))
    for model_name, provider in PRICES:
        PriceTable.objects.get_or_create(
            model_name=model_name,
            provider=provider,
            effective_from=PRICE_EFFECTIVE_FROM,
            defaults=dict(GPT_IMAGE_2_PRICES),
        )
