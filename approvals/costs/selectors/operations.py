"""Operations: estimate accuracy, provider latency, throughput and reviewer workload.

Estimate error and provider latency are percentiles over every succeeded job of the range, read from
the daily histograms (``histograms``: within 1.6% of the exact percentile); jobs per hour reads the last
24 hours of cost rows; decisions and time to decision per reviewer their histograms too. So the page
costs the same at a thousand jobs and at a million; the tables say how many observations they rest on.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django.db.models.functions import TruncHour
from django.utils import timezone

from approvals.costs.histograms import counts_quantile, total
from approvals.costs.rollups import DECISION, ESTIMATE_ERROR, LATENCY
from approvals.costs.selectors.scope import CostScope, histogram_counts
from approvals.reviews.models import ReviewStage, ReviewStatus, StageStatus

WORST_CLASSES = 5
MIN_CLASS_OBSERVATIONS = 3


@dataclass
class OperationsReport:
    accuracy_observations: int = 0
    estimate_median_abs_error_pct: float | None = None
    worst_classes: list[dict] = field(default_factory=list)
    latency: list[dict] = field(default_factory=list)
    jobs_per_hour: list[dict] = field(default_factory=list)
    reviewers: list[dict] = field(default_factory=list)

    @property
    def peak_jobs_per_hour(self) -> int:
        return max((h["jobs"] for h in self.jobs_per_hour), default=0)


METRICS = (ESTIMATE_ERROR, LATENCY, DECISION)


def operations_report(
    scope: CostScope,
    *,
    now: dt.datetime | None = None,
    histograms: dict | None = None,
    deployments: dict[int, str] | None = None,
) -> OperationsReport:
    """``histograms`` (a ``histogram_counts`` with :data:`METRICS`) and ``deployments`` (pk -> name) are
    read here unless the page already has them."""
    now = now or timezone.now()
    report = OperationsReport()
    counts = histograms if histograms is not None else histogram_counts(scope, *METRICS)
    errors: dict[int, int] = defaultdict(int)
    classes = []
    for series, buckets in counts[ESTIMATE_ERROR].items():
        for lower, n in buckets.items():
            errors[lower] += n
        observed = total(buckets)
        if observed >= MIN_CLASS_OBSERVATIONS:
            model, quality, size_class = series.rsplit("|", 2)
            classes.append(
                {
                    "model": model,
                    "quality": quality,
                    "size_class": int(size_class),
                    "observations": observed,
                    "median_error_pct": round(counts_quantile(buckets, 0.5) / 100, 1),
                }
            )
    report.accuracy_observations = total(errors)
    if errors:
        report.estimate_median_abs_error_pct = round(counts_quantile(errors, 0.5) / 100, 1)
    worst = sorted(classes, key=lambda c: (-c["median_error_pct"], -c["observations"], c["model"], c["quality"]))
    report.worst_classes = worst[:WORST_CLASSES]
    names = deployments if deployments is not None else dict(scope.workspace.deployments.values_list("pk", "name"))
    report.latency = sorted(
        (
            {
                "deployment": names.get(int(pk), f"Deployment {pk}"),
                "observations": total(buckets),
                "p50_ms": round(counts_quantile(buckets, 0.5)),
                "p95_ms": round(counts_quantile(buckets, 0.95)),
            }
            for pk, buckets in counts[LATENCY].items()
        ),
        key=lambda row: row["deployment"],
    )
    report.jobs_per_hour = _jobs_per_hour(scope, now)
    report.reviewers = _reviewers(scope, now, counts[DECISION])
    return report


def _jobs_per_hour(scope: CostScope, now: dt.datetime) -> list[dict]:
    """Settled jobs per hour over the last 24 hours of the range."""
    end = min(scope.end, now)
    start = end - dt.timedelta(hours=24)
    hours = (
        scope.facts()
        .filter(settled_at__gte=start, settled_at__lt=end)
        .annotate(hour=TruncHour("settled_at"))
        .values("hour")
        .annotate(jobs=Count("pk"))
        .values_list("hour", "jobs")
    )
    counts: dict[int, int] = defaultdict(int)
    for hour, jobs in hours:
        counts[int((hour - start).total_seconds() // 3600)] += jobs
    return [
        {"hour": timezone.localtime(start + dt.timedelta(hours=h)).strftime("%d %b %H:00"), "jobs": counts.get(h, 0)}
        for h in range(24)
    ]


def _reviewers(scope: CostScope, now: dt.datetime, decided: dict[str, dict[int, int]]) -> list[dict]:
    """Open stages and overdue counts per assignee (grows with the open queue, not with history), and the
    decisions of the range with their median hours from submission, from the histograms (``decided``:
    ``{reviewer pk: {bucket: decisions}}``)."""
    through = ReviewStage.assignees.through
    # Open work as the review queue defines it (a pending stage of an open review), which lets the planner
    # start from the workspace's open reviews (their index) instead of every stage ever assigned.
    open_stages = through.objects.filter(
        reviewstage__status=StageStatus.PENDING,
        reviewstage__review__status=ReviewStatus.OPEN,
        reviewstage__review__workspace=scope.workspace,
    )
    if scope.campaign is not None:
        open_stages = open_stages.filter(reviewstage__review__variant__draft__campaign=scope.campaign)
    people: dict[int, dict] = {}

    def person(pk: int) -> dict:
        return people.setdefault(pk, {"reviewer": "", "open": 0, "overdue": 0, "decided": 0, "hours": None})

    for row in open_stages.values("user_id").annotate(
        open=Count("id"), overdue=Count("id", filter=Q(reviewstage__due_at__lt=now))
    ):
        p = person(row["user_id"])
        p["open"], p["overdue"] = row["open"], row["overdue"]
    for series, buckets in decided.items():
        p = person(int(series))
        p["decided"] = total(buckets)
        p["hours"] = counts_quantile(buckets, 0.5)
    names = dict(get_user_model().objects.filter(pk__in=list(people)).values_list("pk", "username"))
    rows = []
    for pk, p in people.items():
        seconds = p.pop("hours")
        p["reviewer"] = names.get(pk, f"User {pk}")
        p["median_hours_to_decision"] = None if seconds is None else round(seconds / 3600, 1)
        rows.append(p)
    return sorted(rows, key=lambda r: (-r["open"], r["reviewer"]))
