"""Every table of the cost pages as data: one definition renders the HTML table (formatted cells) and
its CSV export (raw values, money as decimal strings), so the two can never disagree."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal

from approvals.costs.money import money


@dataclass
class Table:
    name: str
    caption: str
    columns: list[tuple[str, str]]  # (heading, kind): text, int, money, unit, pct, hours, ms, date
    rows: list[list] = field(default_factory=list)
    empty: str = "Nothing in this range yet."

    @property
    def headings(self) -> list[dict]:
        return [{"label": label, "numeric": kind not in ("text", "date")} for label, kind in self.columns]

    @property
    def cells(self) -> list[list[dict]]:
        return [
            [
                {"value": format_cell(v, kind), "numeric": kind not in ("text", "date")}
                for v, (_l, kind) in zip(row, self.columns, strict=True)
            ]
            for row in self.rows
        ]

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([label for label, _kind in self.columns])
        for row in self.rows:
            writer.writerow([_raw(v) for v in row])
        return out.getvalue()


def _raw(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.quantize(Decimal("0.000001")), "f")  # money to the micro-dollar, as stored
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text  # no formulas in spreadsheets


def format_cell(value, kind: str) -> str:
    if value is None or value == "":
        return "—"
    if kind == "money":
        return money(value)
    if kind == "unit":
        return money(value, unit=True)
    if kind == "int":
        return f"{int(value):,}"
    if kind == "pct":
        return f"{float(value):.1f}%"
    if kind == "hours":
        return f"{float(value):,.1f} h"
    if kind == "ms":
        return f"{int(value):,} ms"
    if kind == "date":
        return value.strftime("%d %b %Y") if hasattr(value, "strftime") else str(value)
    return str(value)
