"""Operations: reviewer workload, estimate accuracy, latency, jobs per hour, and budget forecasts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from approvals.costs.selectors import operations_report, scope_for
from approvals.costs.selectors.budgets import forecast_runout
from approvals.costs.services import costs_catch_up
from approvals.reviews.models import Decision, Review, ReviewStage, StageKind, StageStatus


def test_reviewer_workload_counts_open_overdue_and_time_to_decision(ledger, reviewer):
    version = ledger.version()
    job = ledger.job(version, "0.10", n=2)
    now = timezone.now()
    for variant, due in zip(job.made, (now - dt.timedelta(hours=1), now + dt.timedelta(days=1)), strict=True):
        review = Review.objects.create(
            workspace=ledger.workspace,
            variant=variant,
            variant_sha256=variant.sha256,
            safety_verdict="allow",
            submitted_by=ledger.user,
        )
        stage = ReviewStage.objects.create(
            review=review, kind=StageKind.BRAND, order=1, status=StageStatus.PENDING, due_at=due
        )
        stage.assignees.add(reviewer)
    decided = ReviewStage.objects.first()
    Decision.objects.create(stage=decided, reviewer=reviewer, outcome="approve", variant_sha256="x")
    Review.objects.filter(pk=decided.review_id).update(submitted_at=now - dt.timedelta(hours=5))
    costs_catch_up()  # records the decision (its after-commit hook never ran: no commit in this test)
    report = operations_report(scope_for(ledger.workspace))
    [row] = report.reviewers
    assert row["reviewer"] == reviewer.username
    assert (row["open"], row["overdue"], row["decided"]) == (2, 1, 1)
    assert 4.9 <= row["median_hours_to_decision"] <= 5.1


def test_estimate_accuracy_latency_and_jobs_per_hour(ledger):
    version = ledger.version()
    for estimated in ("0.10", "0.11", "0.09", "0.10"):
        ledger.job(version, "0.10", estimated=estimated)
    report = operations_report(scope_for(ledger.workspace))
    assert report.accuracy_observations == 4
    assert report.estimate_median_abs_error_pct == 5.0
    assert report.worst_classes[0]["observations"] == 4
    [latency] = report.latency
    assert latency["p50_ms"] == 1200
    assert sum(h["jobs"] for h in report.jobs_per_hour) == 4


def test_forecast_runout():
    today = dt.date(2026, 12, 1)
    assert forecast_runout(remaining=Decimal("10"), daily_rate=Decimal("3"), today=today) == dt.date(2026, 12, 5)
    assert forecast_runout(remaining=Decimal("10"), daily_rate=Decimal("0"), today=today) is None
    assert forecast_runout(remaining=Decimal("0"), daily_rate=Decimal("1"), today=today) == today
