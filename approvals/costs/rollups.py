"""What one job or one approved asset adds to the rollups (no database here).

Every change to the rollups goes through a :class:`RollupDelta`: the settle hook adds a job, a refreshed
attribution takes its draft's old asset rows away and adds the new ones (and moves productive spend), and
the rebuild adds every job and asset again from pre-aggregated rows. One definition of "which rows a job
touches", so the incremental rollups and a rebuild cannot drift apart (the tests compare them).

A job adds to two scopes (its workspace, ``WORKSPACE_WIDE``, and its campaign), in two periods (the day
it settled and that day's week), one line of each dimension; an approved asset likewise on the day it
was approved.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Mapping
from decimal import Decimal

from approvals.costs.histograms import bucket, error_basis_points
from approvals.costs.models import WORKSPACE_WIDE, Period

BREAKDOWNS = ("model", "deployment_id", "quality", "size_class", "locale", "route", "operation")
JOB_SUMS = (
    "jobs",
    "images",
    "spend",
    "productive_spend",
    "estimated_cost",
    "output_tokens",
    "cached_tokens",
    "cached_savings",
    "cached_jobs",
)
ASSET_SUMS = ("approved", "published", "lineage_spend")
SUMS = JOB_SUMS + ASSET_SUMS
MONEY_SUMS = frozenset({"spend", "productive_spend", "estimated_cost", "cached_savings", "lineage_spend"})
_INDEX = {name: i for i, name in enumerate(SUMS)}

# The fields of a cost row (or of a GROUP BY over cost rows) that decide which lines it adds to.
JOB_KEYS = (
    "workspace_id",
    "campaign_id",
    "day",
    "currency",
    *BREAKDOWNS,
    "status",
    "cause",
    "price_table_id",
    "rates_digest",
)
ASSET_KEYS = ("workspace_id", "campaign_id", "day", "currency", *BREAKDOWNS)

LATENCY = "latency_ms"  # series: deployment pk
ESTIMATE_ERROR = "estimate_error_bp"  # series: model|quality|pixel class; hundredths of a percent
APPROVAL = "approval_seconds"  # first generation to approval
DECISION = "decision_seconds"  # series: reviewer pk; submission to decision
SUCCEEDED = "succeeded"


def outcome_value(status: str, cause: str) -> str:
    return f"{status}|{cause}"


def price_value(price_table_id: int | None, digest: str) -> str:
    return f"{price_table_id or 0}|{digest}"


def class_series(model: str, quality: str, size_class: int) -> str:
    return f"{model}|{quality}|{size_class}"


def week_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _periods(day: dt.date) -> tuple[tuple[str, dt.date], tuple[str, dt.date]]:
    return (Period.DAY.value, day), (Period.WEEK.value, week_of(day))


def _lines(keys: Mapping, *, job: bool) -> list[tuple[str, str]]:
    lines = [("total", ""), ("campaign", str(keys["campaign_id"]))]
    lines += [(d, str(keys[d])) for d in BREAKDOWNS]
    if job:
        lines.append(("outcome", outcome_value(keys["status"], keys["cause"])))
        lines.append(("price", price_value(keys["price_table_id"], keys["rates_digest"])))
    return lines


def _fields(row, names: tuple[str, ...]) -> dict:
    return {n: row[n] for n in names} if isinstance(row, Mapping) else {n: getattr(row, n) for n in names}


class RollupDelta:
    """Additions to both rollups, netted per row; :meth:`breakdown_rows` and :meth:`histogram_rows` give
    the non-zero ones in key order (the order the upserts lock rows in, so concurrent writers never
    deadlock on each other's rows)."""

    def __init__(self) -> None:
        self.breakdown: dict[tuple, list] = defaultdict(lambda: [0] * len(SUMS))
        self.histogram: dict[tuple, int] = defaultdict(int)

    # --- building blocks ---------------------------------------------------------------------------
    def add_sums(self, keys: Mapping, sums: Mapping, *, job: bool, sign: int = 1) -> None:
        changes = [(_INDEX[name], value * sign) for name, value in sums.items() if value]
        if not changes:
            return
        lines = _lines(keys, job=job)
        ws, currency = keys["workspace_id"], keys["currency"]
        for ref in (WORKSPACE_WIDE, keys["campaign_id"]):
            for period, start in _periods(keys["day"]):
                for dimension, value in lines:
                    if ref != WORKSPACE_WIDE and dimension == "campaign":
                        continue  # a campaign's own rows need no line per campaign
                    row = self.breakdown[(ws, ref, period, start, dimension, value, currency)]
                    for i, change in changes:
                        row[i] += change

    def add_observation(self, keys: Mapping, metric: str, series: str, value: int, n: int = 1) -> None:
        lower = bucket(value)
        for ref in (WORKSPACE_WIDE, keys["campaign_id"]):
            for period, start in _periods(keys["day"]):
                self.histogram[(keys["workspace_id"], ref, period, start, metric, series, lower)] += n

    # --- facts -------------------------------------------------------------------------------------
    def add_job(self, fact, *, sign: int = 1) -> None:
        """A settled job (a ``JobCost``)."""
        keys = _fields(fact, JOB_KEYS)
        sums = {
            "jobs": 1,
            "images": fact.images,
            "spend": fact.spend,
            "productive_spend": fact.productive_spend,
            "estimated_cost": fact.estimated_cost,
            "output_tokens": fact.output_tokens,
            "cached_tokens": fact.cached_tokens,
            "cached_savings": fact.cached_savings,
            "cached_jobs": 1 if fact.cached_tokens else 0,
        }
        self.add_sums(keys, sums, job=True, sign=sign)
        if fact.status != SUCCEEDED:
            return
        if fact.latency_ms is not None:
            self.add_observation(keys, LATENCY, str(fact.deployment_id), fact.latency_ms, sign)
        error = error_basis_points(fact.estimated_cost, fact.spend)
        if error is not None:
            series = class_series(fact.model, fact.quality, fact.size_class)
            self.add_observation(keys, ESTIMATE_ERROR, series, error, sign)

    def add_productive(self, fact, change: Decimal) -> None:
        """Part of a job's spend moved between waste and an approved asset's lineage."""
        self.add_sums(_fields(fact, JOB_KEYS), {"productive_spend": change}, job=True)

    def add_asset(self, asset, *, sign: int = 1) -> None:
        """An approved asset (an ``AssetCost``)."""
        keys = _fields(asset, ASSET_KEYS)
        sums = {"approved": 1, "published": 1 if asset.published_at else 0, "lineage_spend": asset.lineage_spend}
        self.add_sums(keys, sums, job=False, sign=sign)
        self.add_observation(keys, APPROVAL, "", asset.seconds_to_approval, sign)

    def add_decision(self, fact, *, sign: int = 1) -> None:
        """A recorded review decision (a ``DecisionCost``)."""
        keys = _fields(fact, ("workspace_id", "campaign_id", "day"))
        self.add_observation(keys, DECISION, str(fact.reviewer_id), fact.seconds_to_decision, sign)

    # --- output ------------------------------------------------------------------------------------
    def breakdown_rows(self) -> Iterator[tuple[tuple, list]]:
        for key in sorted(self.breakdown):
            sums = self.breakdown[key]
            if any(sums):
                yield key, sums

    def histogram_rows(self) -> Iterator[tuple[tuple, int]]:
        for key in sorted(self.histogram):
            if self.histogram[key]:
                yield key, self.histogram[key]

    def __bool__(self) -> bool:
        return any(any(s) for s in self.breakdown.values()) or any(self.histogram.values())
