from decimal import Decimal

import pytest

from approvals.costs.money import CurrencyMix, money, single_currency
from approvals.costs.tables import Table


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (Decimal("49.6471"), False, "$49.65"),
        (Decimal("1234.5"), False, "$1,234.50"),
        (Decimal("0.004213"), True, "$0.0042"),
        (Decimal("0.000051"), True, "$0.000051"),
        (Decimal("0.004213"), False, "$0.00"),
        (Decimal("0.25"), True, "$0.25"),
        (None, True, "—"),
    ],
)
def test_money_reads_as_money(value, unit, expected):
    assert money(value, unit=unit) == expected


def test_currencies_are_never_added_up():
    assert single_currency(["USD", "USD"]) == "USD"
    with pytest.raises(CurrencyMix, match="EUR, USD"):
        single_currency(["USD", "EUR"])


def test_csv_keeps_money_as_decimal_strings_and_defuses_formulas():
    table = Table(
        "t", "T", [("Name", "text"), ("Spend", "money")], [["=cmd()", Decimal("0.120000")], ["a", Decimal("3")]]
    )
    assert table.csv().splitlines() == ["Name,Spend", "'=cmd(),0.120000", "a,3.000000"]
    assert table.cells[0][1]["value"] == "$0.12"
