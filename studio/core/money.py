"""Money as people read it, one rule everywhere: amounts to the cent ("$49.65", "$1,250.00"), and amounts
under a cent with two significant digits ("$0.0042") so a per-image price never reads as "$0.00".

In core, the lowest layer, so every app formats through ``money_text``: the studio's template filter, the
cost pages and the services' refusal messages."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

SYMBOLS = {"USD": "$"}
CENT = Decimal("0.01")
EMPTY = "—"


def money_text(value, currency: str = "USD", *, sub_cent_digits: bool = True) -> str:
    """``$1,234.50``. ``None`` and unparseable values give a dash rather than a misleading "$0.00".

    ``sub_cent_digits=False`` rounds amounts under a cent to "$0.00" too (for totals in a table whose
    column should read as whole cents)."""
    if value is None or value == "":
        return EMPTY
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        return EMPTY
    if not amount.is_finite():
        return EMPTY
    symbol = SYMBOLS.get(currency, f"{currency} ")
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    if sub_cent_digits and 0 < amount < CENT:
        exponent = amount.adjusted()  # e.g. -3 for 0.0042
        quantum = Decimal(1).scaleb(exponent - 1)
        return f"{sign}{symbol}{amount.quantize(quantum, rounding=ROUND_HALF_UP)}"
    rounded = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    if rounded == 0:
        sign = ""
    return f"{sign}{symbol}{rounded:,}"
