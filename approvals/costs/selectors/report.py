"""The cost report of a scope, read from the rollups in a constant number of queries.

Spend is what jobs settled in the range cost (every generation, edit, localisation and re-run, and any
failed or blocked call that was charged); approvals are assets approved in the range. "All-in" divides
the first by the second; "by lineage" is each approved asset's own lineage spend (``attribution``);
waste is the spend of jobs settled in the range that led to no approval.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Sum

from approvals.costs.histograms import counts_quantile
from approvals.costs.money import single_currency
from approvals.costs.prices import price_rates, rates_digest
from approvals.costs.rollups import APPROVAL, BREAKDOWNS, SUMS
from approvals.costs.selectors.scope import CostScope, histogram_counts, ratio
from studio.generation.models import Deployment, Operation, PriceTable

ZERO = Decimal(0)
DIMENSIONS = BREAKDOWNS
DIMENSION_LABELS = {
    "model": "Model",
    "deployment_id": "Deployment",
    "quality": "Quality",
    "size_class": "Size class",
    "locale": "Locale",
    "route": "Route",
    "operation": "Operation",
}
INTEGER_DIMENSIONS = frozenset({"deployment_id", "size_class"})


def quantized(value) -> Decimal:
    """A summed money column to the micro-dollar (SQLite sums decimals as floats)."""
    return Decimal(value or 0).quantize(Decimal("0.000001"))


@dataclass
class Line:
    """One line of a breakdown: spend side from the rollups, approved side from the asset rows."""

    key: str
    label: str
    jobs: int = 0
    generated: int = 0
    spend: Decimal = ZERO
    productive: Decimal = ZERO
    cached_savings: Decimal = ZERO
    cached_jobs: int = 0
    approved: int = 0
    lineage_spend: Decimal = ZERO

    @property
    def waste(self) -> Decimal:
        return self.spend - self.productive

    @property
    def cost_per_approved(self) -> Decimal | None:
        return ratio(self.spend, self.approved)

    @property
    def cost_per_generated(self) -> Decimal | None:
        return ratio(self.spend, self.generated)

    def add(self, row: dict) -> None:
        """Add a rollup row's sums (spend side and approved side)."""
        self.jobs += row["jobs"] or 0
        self.generated += row["images"] or 0
        self.spend += quantized(row["spend"])
        self.productive += quantized(row["productive_spend"])
        self.cached_savings += quantized(row["cached_savings"])
        self.cached_jobs += row["cached_jobs"] or 0
        self.approved += row["approved"] or 0
        self.lineage_spend += quantized(row["lineage_spend"])


@dataclass
class PriceApplied:
    pk: int
    label: str
    spend: Decimal
    edited_since: bool


@dataclass
class CostReport:
    scope: CostScope
    currency: str = "USD"
    total: Line = field(default_factory=lambda: Line("all", "All"))
    estimated: Decimal = ZERO
    published: int = 0
    hours_to_approval: tuple[float | None, float | None] = (None, None)
    breakdowns: dict[str, list[Line]] = field(default_factory=dict)
    outcomes: list[dict] = field(default_factory=list)
    series: list[dict] = field(default_factory=list)
    prices: list[PriceApplied] = field(default_factory=list)
    deployments: dict[int, str] = field(default_factory=dict)
    by_campaign: dict[int, Line] = field(default_factory=dict)  # campaign pk -> its sums in the range

    # --- the headline numbers ---------------------------------------------------------------------
    @property
    def spend(self) -> Decimal:
        return self.total.spend

    @property
    def generated(self) -> int:
        return self.total.generated

    @property
    def approved(self) -> int:
        return self.total.approved

    @property
    def waste(self) -> Decimal:
        return self.total.waste

    @property
    def cost_per_generated(self) -> Decimal | None:
        return ratio(self.spend, self.generated)

    @property
    def cost_per_approved(self) -> Decimal | None:
        return ratio(self.spend, self.approved)

    @property
    def cost_per_published(self) -> Decimal | None:
        return ratio(self.spend, self.published)

    @property
    def lineage_cost_per_approved(self) -> Decimal | None:
        return ratio(self.total.lineage_spend, self.approved)

    @property
    def rework_ratio(self) -> float | None:
        return round(self.generated / self.approved, 2) if self.approved else None

    @property
    def approval_rate(self) -> float | None:
        return round(100 * self.approved / self.generated, 1) if self.generated else None

    @property
    def cached_reported(self) -> bool:
        return self.total.cached_jobs > 0

    @property
    def unreported_deployments(self) -> list[str]:
        return [line.label for line in self.breakdowns.get("deployment_id", []) if not line.cached_jobs]

    @property
    def is_empty(self) -> bool:
        return not self.total.jobs and not self.approved


def _label(dimension: str, value, deployments: dict[int, str]) -> str:
    if dimension == "deployment_id":
        return deployments.get(value, f"Deployment {value}")
    if dimension == "size_class":
        return f"~{value} MP"
    if dimension == "operation":
        return Operation(value).label if value in Operation.values else str(value)
    if dimension == "locale":
        return value or "(no locale)"
    if dimension == "route":
        return "explicit size" if value == "explicit" else str(value).replace(":", " ")
    return str(value) or "(none)"


def _bucket(day: dt.date, weekly: bool) -> dt.date:
    return day - dt.timedelta(days=day.weekday()) if weekly else day


def _typed(dimension: str, value: str):
    return int(value) if dimension in INTEGER_DIMENSIONS and value.lstrip("-").isdigit() else value


def cost_report(scope: CostScope, *, histograms: dict | None = None) -> CostReport:
    """The report for ``scope``, in five queries over the rollups whatever the range or the number of
    jobs (four given ``histograms``, a ``histogram_counts`` the page shares with the operations report);
    raises ``CurrencyMix`` if its rows are in more than one currency."""
    report = CostReport(scope=scope)
    report.deployments = dict(Deployment.objects.filter(workspace=scope.workspace).values_list("pk", "name"))

    # 1. every breakdown line of the range at once: spend side and approved side
    rows = list(
        scope.breakdown()
        .values("dimension", "value", "currency")
        .annotate(**{name: Sum(name) for name in SUMS})
        .order_by()
    )
    report.currency = single_currency(r["currency"] for r in rows)
    lines: dict[str, dict] = {d: {} for d in DIMENSIONS}
    outcomes: dict[tuple[str, str], int] = defaultdict(int)
    prices: dict[tuple[int, str], Decimal] = defaultdict(lambda: ZERO)
    for row in rows:
        dimension, value = row["dimension"], row["value"]
        if dimension == "total":
            report.total.add(row)
            report.estimated += quantized(row["estimated_cost"])
            report.published += row["published"] or 0
        elif dimension in lines:
            key = _typed(dimension, value)
            if key not in lines[dimension]:
                lines[dimension][key] = Line(str(key), _label(dimension, key, report.deployments))
            lines[dimension][key].add(row)
        elif dimension == "outcome":
            status, _, cause = value.partition("|")
            if status != "succeeded" and row["jobs"]:
                outcomes[(status, cause)] += row["jobs"]
        elif dimension == "price" and row["jobs"]:
            ref, _, digest = value.partition("|")
            prices[(int(ref), digest)] += quantized(row["spend"])
        elif dimension == "campaign":
            line = Line(value, value)
            line.add(row)
            report.by_campaign[int(value)] = line
    report.breakdowns = {
        d: sorted(
            (line for line in lines[d].values() if line.jobs or line.approved),
            key=lambda line: (-line.spend, line.label),
        )
        for d in DIMENSIONS
    }

    # 2. time from first generation to approval, from its histogram
    if histograms is None or APPROVAL not in histograms:
        histograms = histogram_counts(scope, APPROVAL)
    approval = histograms[APPROVAL].get("", {})
    report.hours_to_approval = tuple(
        None if v is None else round(v / 3600, 1)
        for v in (counts_quantile(approval, 0.5), counts_quantile(approval, 0.9))
    )

    report.outcomes = sorted(
        (
            {
                "status": status,
                "cause": cause or status,
                "jobs": jobs,
                "rate": round(100 * jobs / report.total.jobs, 1) if report.total.jobs else 0.0,
            }
            for (status, cause), jobs in outcomes.items()
        ),
        key=lambda o: -o["jobs"],
    )
    report.series = _series(scope)
    report.prices = _prices(prices)
    return report


def _series(scope: CostScope) -> list[dict]:
    """Spend, approvals and cost per approved asset per day (per week over ranges longer than 62 days)."""
    weekly = scope.days > 62
    # Weekly buckets add whole weeks' rows and the ragged ends' days; daily ones need the daily rows.
    totals = (
        (scope.breakdown() if weekly else scope.daily())
        .filter(dimension="total")
        .values("day")
        .annotate(spend=Sum("spend"), images=Sum("images"), approved=Sum("approved"), lineage=Sum("lineage_spend"))
        .order_by()
    )
    buckets: dict[dt.date, dict] = {}

    def bucket(day: dt.date) -> dict:
        key = _bucket(day, weekly)
        return buckets.setdefault(key, {"day": key, "spend": ZERO, "images": 0, "approved": 0, "lineage": ZERO})

    for row in totals:
        b = bucket(row["day"])
        b["spend"] += quantized(row["spend"])
        b["images"] += row["images"] or 0
        b["approved"] += row["approved"] or 0
        b["lineage"] += quantized(row["lineage"])
    day = _bucket(scope.since, weekly)
    while day <= scope.until:
        bucket(day)
        day += dt.timedelta(days=7 if weekly else 1)
    rows = [buckets[k] for k in sorted(buckets)]
    for row in rows:
        row["cost_per_approved"] = ratio(row["spend"], row["approved"])
        row["weekly"] = weekly
    return rows


def _prices(spend_by_price: dict[tuple[int, str], Decimal]) -> list[PriceApplied]:
    rows = {p.pk: p for p in PriceTable.objects.filter(pk__in=[pk for pk, _ in spend_by_price if pk])}
    applied = []
    for (pk, digest), spend in sorted(spend_by_price.items(), key=lambda item: -item[1]):
        row = rows.get(pk)
        if row is None:
            applied.append(PriceApplied(0, "no price table (nothing charged)", spend, False))
            continue
        label = (
            f"{row.model_name}{' (' + row.provider + ')' if row.provider else ''} from {row.effective_from:%d %b %Y}"
        )
        applied.append(PriceApplied(pk, label, spend, rates_digest(price_rates(row)) != digest))
    return applied
