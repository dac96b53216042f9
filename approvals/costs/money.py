"""Money as people read it: "$49.65"; unit costs under a cent with enough significant digits to compare
("$0.0042"). One currency: ``PriceTable`` has no currency field, so every price is USD; sums refuse to
add amounts of different currencies (``CurrencyMix``)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from studio.core.errors import Refusal

SYMBOLS = {"USD": "$"}
CENT = Decimal("0.01")


class CurrencyMix(Refusal):
    code = "currency_mix"
    default_message = "These costs are in different currencies and cannot be added up."


def money(value, currency: str = "USD", *, unit: bool = False) -> str:
    """``$1,234.50``; with ``unit`` (a per-image or per-asset cost), amounts under a cent keep two
    significant digits (``$0.0042``) instead of rounding to "$0.00"."""
    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return "—"
    symbol = SYMBOLS.get(currency, f"{currency} ")
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    if unit and 0 < amount < CENT:
        exponent = amount.adjusted()  # e.g. -3 for 0.0042
        quantum = Decimal(1).scaleb(exponent - 1)
        return f"{sign}{symbol}{amount.quantize(quantum, rounding=ROUND_HALF_UP)}"
    return f"{sign}{symbol}{amount.quantize(CENT, rounding=ROUND_HALF_UP):,}"


def single_currency(currencies) -> str:
    """The one currency of ``currencies`` (USD when there are none), else ``CurrencyMix``."""
    found = sorted({c for c in currencies if c})
    if len(found) > 1:
        raise CurrencyMix(
            f"These costs are in {', '.join(found)}; totals are only shown for one currency at a time. "
            "Ask an admin to keep price tables in one currency."
        )
    return found[0] if found else "USD"
