"""What a cost page is about: one workspace (or one of its campaigns) over a date range, and the
querysets every report reads, all scoped to it (the workspace wall)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Aggregate, FloatField, QuerySet
from django.utils import timezone

from approvals.costs.models import AssetCost, CostRollup, JobCost, WorkspaceCostRollup
from studio.core.models import Workspace
from studio.generation.models import Campaign

DEFAULT_DAYS = 30


@dataclass(frozen=True)
class CostScope:
    workspace: Workspace
    since: dt.date
    until: dt.date
    campaign: Campaign | None = None

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    def _scoped(self, qs: QuerySet) -> QuerySet:
        qs = qs.filter(workspace=self.workspace)
        return qs.filter(campaign=self.campaign) if self.campaign is not None else qs

    def rollups(self) -> QuerySet:
        """The day rows of the scope: the workspace rollup for a workspace page (no campaign in its key)."""
        if self.campaign is None:
            return WorkspaceCostRollup.objects.filter(
                workspace=self.workspace, day__gte=self.since, day__lte=self.until
            )
        return self.campaign_rollups()

    def campaign_rollups(self) -> QuerySet:
        return self._scoped(CostRollup.objects.filter(day__gte=self.since, day__lte=self.until))

    def assets(self) -> QuerySet:
        return self._scoped(AssetCost.objects.filter(day__gte=self.since, day__lte=self.until))

    @property
    def start(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.since, dt.time.min))

    @property
    def end(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.until + dt.timedelta(days=1), dt.time.min))

    def facts(self) -> QuerySet:
        return self._scoped(JobCost.objects.filter(settled_at__gte=self.start, settled_at__lt=self.end))


def default_range(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    today = today or timezone.localdate()
    return today - dt.timedelta(days=DEFAULT_DAYS - 1), today


def scope_for(workspace: Workspace, *, since=None, until=None, campaign: Campaign | None = None) -> CostScope:
    default_since, default_until = default_range()
    return CostScope(workspace=workspace, since=since or default_since, until=until or default_until, campaign=campaign)


class PercentileCont(Aggregate):
    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def percentiles(qs: QuerySet, field: str, fractions: tuple[float, ...]) -> list[float | None]:
    """Percentiles of ``field`` over ``qs`` in one query: ``percentile_cont`` on PostgreSQL, in Python
    elsewhere (the unit tests' SQLite), with the same interpolation."""
    if connection.vendor == "postgresql":
        result = qs.aggregate(**{f"p{i}": PercentileCont(field, fraction=f) for i, f in enumerate(fractions)})
        return [result[f"p{i}"] for i in range(len(fractions))]
    values = sorted(float(v) for v in qs.values_list(field, flat=True) if v is not None)
    return [quantile(values, f) if values else None for f in fractions]


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lower = math.floor(pos)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (pos - lower)


def ratio(numerator, denominator) -> Decimal | None:
    """``numerator / denominator`` as money (None when there is nothing to divide by)."""
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.000001"))
