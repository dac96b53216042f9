"""Which price applied: a snapshot of a price row's rates and its fingerprint, so a price table edited
after jobs settled shows as "edited since" instead of silently changing settled costs."""

from __future__ import annotations

import hashlib
import json

RATE_FIELDS = ("text_input", "cached_text_input", "image_input", "cached_image_input", "image_output", "text_output")


def price_rates(price) -> dict:
    if price is None:
        return {}
    return {"effective_from": price.effective_from.isoformat(), **{f: str(getattr(price, f)) for f in RATE_FIELDS}}


def rates_digest(rates: dict) -> str:
    """A short fingerprint of a rate snapshot: equal rates, equal digest."""
    if not rates:
        return ""
    return hashlib.sha256(json.dumps(rates, sort_keys=True).encode()).hexdigest()[:16]
