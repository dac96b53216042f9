"""What a cost page is about: one workspace (or one of its campaigns) over a date range, and the
querysets every report reads, all scoped to it (the workspace wall)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from approvals.costs.models import WORKSPACE_WIDE, AssetCost, CostBreakdownDay, CostHistogramDay, JobCost, Period
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

    @property
    def campaign_ref(self) -> int:
        return self.campaign.pk if self.campaign is not None else WORKSPACE_WIDE

    def periods(self) -> Q:
        """The rollup rows that cover the range exactly once (``cover``)."""
        q = Q()
        for period, first, last in cover(self.since, self.until):
            q |= Q(period=period, day__gte=first, day__lte=last)
        return q

    def breakdown(self) -> QuerySet:
        """The scope's breakdown rows covering the range: a few dozen per period, whatever the number of
        jobs."""
        return CostBreakdownDay.objects.filter(self.periods(), workspace=self.workspace, campaign_ref=self.campaign_ref)

    def daily(self) -> QuerySet:
        """The scope's daily breakdown rows of the range (for per-day charts)."""
        return CostBreakdownDay.objects.filter(
            workspace=self.workspace,
            campaign_ref=self.campaign_ref,
            period=Period.DAY,
            day__gte=self.since,
            day__lte=self.until,
        )

    def histograms(self) -> QuerySet:
        return CostHistogramDay.objects.filter(self.periods(), workspace=self.workspace, campaign_ref=self.campaign_ref)

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


def cover(since: dt.date, until: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    """``(period, first, last)`` row ranges covering ``since..until`` exactly once: the whole weeks
    (Monday to Sunday) from weekly rows, whose ``day`` is their Monday, and the ragged ends (at most six
    days each) from daily rows."""
    first_monday = since + dt.timedelta(days=(7 - since.weekday()) % 7)
    last_sunday = until - dt.timedelta(days=(until.weekday() + 1) % 7)
    if first_monday + dt.timedelta(days=6) > last_sunday:
        return [(Period.DAY, since, until)] if since <= until else []
    ranges = [(Period.WEEK, first_monday, last_sunday - dt.timedelta(days=6))]
    if since < first_monday:
        ranges.insert(0, (Period.DAY, since, first_monday - dt.timedelta(days=1)))
    if last_sunday < until:
        ranges.append((Period.DAY, last_sunday + dt.timedelta(days=1), until))
    return ranges


def default_range(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    today = today or timezone.localdate()
    return today - dt.timedelta(days=DEFAULT_DAYS - 1), today


def scope_for(workspace: Workspace, *, since=None, until=None, campaign: Campaign | None = None) -> CostScope:
    default_since, default_until = default_range()
    return CostScope(workspace=workspace, since=since or default_since, until=until or default_until, campaign=campaign)


def ratio(numerator, denominator) -> Decimal | None:
    """``numerator / denominator`` as money (None when there is nothing to divide by)."""
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.000001"))


def histogram_counts(scope: CostScope, *metrics: str) -> dict[str, dict[str, dict[int, int]]]:
    """``{metric: {series: {bucket: observations}}}`` of the scope's range, in one query (a few hundred
    rows: buckets are shared across days)."""
    counts: dict[str, dict[str, dict[int, int]]] = {m: {} for m in metrics}
    rows = (
        scope.histograms()
        .filter(metric__in=metrics)
        .values_list("metric", "series", "bucket")
        .annotate(n=Sum("count"))
        .order_by()
    )
    for metric, series, lower, n in rows:
        if n:
            counts[metric].setdefault(series, {})[lower] = n
    return counts
