"""Money as people read it: "$49.65"; unit costs under a cent with enough significant digits to compare
("$0.0042"). One currency: ``PriceTable`` has no currency field, so every price is USD; sums refuse to
add amounts of different currencies (``CurrencyMix``)."""

from __future__ import annotations

from studio.core.errors import Refusal
from studio.core.money import money_text


class CurrencyMix(Refusal):
    code = "currency_mix"
    default_message = "These costs are in different currencies and cannot be added up."


def money(value, currency: str = "USD", *, unit: bool = False) -> str:
    """``$1,234.50``; with ``unit`` (a per-image or per-asset cost), amounts under a cent keep two
    significant digits (``$0.0042``) instead of rounding to "$0.00". Totals round to the cent."""
    return money_text(value, currency, sub_cent_digits=unit)


def single_currency(currencies) -> str:
    """The one currency of ``currencies`` (USD when there are none), else ``CurrencyMix``."""
    found = sorted({c for c in currencies if c})
    if len(found) > 1:
        raise CurrencyMix(
            f"These costs are in {', '.join(found)}; totals are only shown for one currency at a time. "
            "Ask an admin to keep price tables in one currency."
        )
    return found[0] if found else "USD"
