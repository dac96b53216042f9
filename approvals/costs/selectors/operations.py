"""Operations: estimate accuracy, provider latency, throughput and reviewer workload.

The samples are bounded (the most recent :data:`SAMPLE` settled jobs of the range, the most recent
:data:`DECISION_SAMPLE` decisions), so the page costs the same at a thousand jobs and at a million; the
tables say how many observations they rest on.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.db.models.functions import TruncHour
from django.utils import timezone

from approvals.costs.selectors.scope import CostScope, quantile
from approvals.reviews.models import Decision, ReviewStage, StageStatus

SAMPLE = 2000
DECISION_SAMPLE = 2000
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


def _pct_error(estimated, actual) -> float:
    actual = float(actual)
    return abs(float(estimated) - actual) / actual * 100


def operations_report(scope: CostScope, *, now: dt.datetime | None = None) -> OperationsReport:
    now = now or timezone.now()
    report = OperationsReport()
    sample = list(
        scope.facts()
        .filter(status="succeeded")
        .order_by("-settled_at")
        .values_list("model", "quality", "size_class", "estimated_cost", "spend", "deployment_id", "latency_ms")[
            :SAMPLE
        ]
    )
    errors, by_class, latency = [], defaultdict(list), defaultdict(list)
    for model, quality, size_class, estimated, actual, deployment_id, latency_ms in sample:
        if actual and actual > 0:
            error = _pct_error(estimated, actual)
            errors.append(error)
            by_class[(model, quality, size_class)].append(error)
        if latency_ms is not None:
            latency[deployment_id].append(latency_ms)
    report.accuracy_observations = len(errors)
    if errors:
        report.estimate_median_abs_error_pct = round(statistics.median(errors), 1)
    classes = [
        {
            "model": m,
            "quality": q,
            "size_class": s,
            "observations": len(v),
            "median_error_pct": round(statistics.median(v), 1),
        }
        for (m, q, s), v in by_class.items()
        if len(v) >= MIN_CLASS_OBSERVATIONS
    ]
    report.worst_classes = sorted(classes, key=lambda c: -c["median_error_pct"])[:WORST_CLASSES]
    names = dict(scope.workspace.deployments.values_list("pk", "name"))
    report.latency = sorted(
        (
            {
                "deployment": names.get(pk, f"Deployment {pk}"),
                "observations": len(values),
                "p50_ms": round(quantile(values, 0.5)),
                "p95_ms": round(quantile(values, 0.95)),
            }
            for pk, values in latency.items()
        ),
        key=lambda row: row["deployment"],
    )
    report.jobs_per_hour = _jobs_per_hour(scope, now)
    report.reviewers = _reviewers(scope, now)
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


def _reviewers(scope: CostScope, now: dt.datetime) -> list[dict]:
    """Open stages and overdue counts per assignee, and median hours from submission to decision."""
    through = ReviewStage.assignees.through
    open_stages = through.objects.filter(
        reviewstage__status=StageStatus.PENDING, reviewstage__review__workspace=scope.workspace
    )
    decisions = Decision.objects.filter(
        stage__review__workspace=scope.workspace, created_at__gte=scope.start, created_at__lt=scope.end
    )
    if scope.campaign is not None:
        open_stages = open_stages.filter(reviewstage__review__variant__draft__campaign=scope.campaign)
        decisions = decisions.filter(stage__review__variant__draft__campaign=scope.campaign)
    people: dict[int, dict] = {}

    def person(pk: int, name: str) -> dict:
        return people.setdefault(pk, {"reviewer": name, "open": 0, "overdue": 0, "decided": 0, "hours": []})

    for row in open_stages.values("user_id", "user__username").annotate(
        open=Count("id"), overdue=Count("id", filter=Q(reviewstage__due_at__lt=now))
    ):
        p = person(row["user_id"], row["user__username"])
        p["open"], p["overdue"] = row["open"], row["overdue"]
    for pk, name, decided, submitted in decisions.order_by("-created_at").values_list(
        "reviewer_id", "reviewer__username", "created_at", "stage__review__submitted_at"
    )[:DECISION_SAMPLE]:
        p = person(pk, name)
        p["decided"] += 1
        p["hours"].append(max(0.0, (decided - submitted).total_seconds() / 3600))
    rows = []
    for p in people.values():
        hours = p.pop("hours")
        p["median_hours_to_decision"] = round(statistics.median(hours), 1) if hours else None
        rows.append(p)
    return sorted(rows, key=lambda r: (-r["open"], r["reviewer"]))
