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

from django.db.models import Count, Q, Sum

from approvals.costs.money import single_currency
from approvals.costs.prices import price_rates, rates_digest
from approvals.costs.selectors.scope import CostScope, percentiles, ratio
from studio.generation.models import Deployment, Operation, PriceTable

ZERO = Decimal(0)
DIMENSIONS = ("model", "deployment_id", "quality", "size_class", "locale", "route", "operation")
DIMENSION_LABELS = {
    "model": "Model",
    "deployment_id": "Deployment",
    "quality": "Quality",
    "size_class": "Size class",
    "locale": "Locale",
    "route": "Route",
    "operation": "Operation",
}
SUMS = (
    "jobs",
    "images",
    "spend",
    "productive_spend",
    "estimated_cost",
    "cached_tokens",
    "cached_savings",
    "cached_jobs",
)


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
        self.jobs += row["jobs"] or 0
        self.generated += row["images"] or 0
        self.spend += quantized(row["spend"])
        self.productive += quantized(row["productive_spend"])
        self.cached_savings += quantized(row["cached_savings"])
        self.cached_jobs += row["cached_jobs"] or 0


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


def cost_report(scope: CostScope) -> CostReport:
    """The report for ``scope``; raises ``CurrencyMix`` if its rows are in more than one currency."""
    report = CostReport(scope=scope)
    report.deployments = dict(Deployment.objects.filter(workspace=scope.workspace).values_list("pk", "name"))

    # 1. the spend side, by every breakdown key at once
    spend_rows = list(
        scope.rollups()
        .values(*DIMENSIONS, "status", "cause", "currency", "price_table_ref", "rates_digest")
        .annotate(**{name: Sum(name) for name in SUMS})
    )
    report.currency = single_currency(r["currency"] for r in spend_rows)
    lines: dict[str, dict] = {d: {} for d in DIMENSIONS}
    outcomes: dict[tuple[str, str], int] = defaultdict(int)
    prices: dict[tuple[int, str], Decimal] = defaultdict(lambda: ZERO)
    for row in spend_rows:
        report.total.add(row)
        report.estimated += quantized(row["estimated_cost"])
        for d in DIMENSIONS:
            value = row[d]
            if value not in lines[d]:
                lines[d][value] = Line(str(value), _label(d, value, report.deployments))
            lines[d][value].add(row)
        if row["status"] != "succeeded":
            outcomes[(row["status"], row["cause"])] += row["jobs"]
        prices[(row["price_table_ref"], row["rates_digest"])] += quantized(row["spend"])

    # 2. the approved side, by the same keys
    asset_rows = list(
        scope.assets()
        .values(*DIMENSIONS, "currency")
        .annotate(
            approved=Count("pk"),
            lineage=Sum("lineage_spend"),
            published=Count("pk", filter=Q(published_at__isnull=False)),
        )
    )
    single_currency([report.currency, *(r["currency"] for r in asset_rows)])
    for row in asset_rows:
        report.total.approved += row["approved"]
        report.total.lineage_spend += quantized(row["lineage"])
        report.published += row["published"]
        for d in DIMENSIONS:
            value = row[d]
            if value not in lines[d]:
                lines[d][value] = Line(str(value), _label(d, value, report.deployments))
            lines[d][value].approved += row["approved"]
            lines[d][value].lineage_spend += quantized(row["lineage"])
    report.breakdowns = {d: sorted(lines[d].values(), key=lambda line: (-line.spend, line.label)) for d in DIMENSIONS}

    # 3. time from first generation to approval
    median, p90 = percentiles(scope.assets(), "seconds_to_approval", (0.5, 0.9))
    report.hours_to_approval = tuple(None if v is None else round(v / 3600, 1) for v in (median, p90))

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
    spend = scope.rollups().values("day").annotate(spend=Sum("spend"), images=Sum("images"))
    assets = scope.assets().values("day").annotate(approved=Count("pk"), lineage=Sum("lineage_spend"))
    buckets: dict[dt.date, dict] = {}

    def bucket(day: dt.date) -> dict:
        key = _bucket(day, weekly)
        return buckets.setdefault(key, {"day": key, "spend": ZERO, "images": 0, "approved": 0, "lineage": ZERO})

    for row in spend:
        b = bucket(row["day"])
        b["spend"] += quantized(row["spend"])
        b["images"] += row["images"] or 0
    for row in assets:
        b = bucket(row["day"])
        b["approved"] += row["approved"]
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
