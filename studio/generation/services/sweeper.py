"""The repair path for every stuck state of a job or a new image (issue 10), run by ``jobs_sweep`` every
minute from Celery beat.

Work is enqueued after commit (``job_publish``); when the broker was down then, or a worker died holding a
job, nothing else would ever pick it up. The sweeper finds those rows and repairs them, one audit event per
repair:

- a job "queued" for longer than ``QUEUED_GRACE`` is published again (``studio.job.requeued``);
- a job "running" whose lease ran out (claimed longer ago than the slowest task may run) is published
  again; the next delivery takes over the lease (``_job_claim``) — a live lease is never taken twice, so
  re-publishing never makes a second provider call for a job still in progress;
- a variant "safety_pending" with no screening for ``SCREEN_STALE`` is screened again
  (``studio.variant.rescreen_requeued``);
- a finished job that still holds a budget reservation releases it (``studio.job.reservation_released``).

Idempotent: each repair re-checks the row under its lock (lock order: ``studio.generation.locks``), and
job execution and screening re-check state under their own locks, so a duplicate message does nothing.
A repair whose publish fails (the broker is still down) is not audited and is tried again next minute.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from studio.generation import events, tasks
from studio.generation.locks import job_lock, job_lock_with_campaign
from studio.generation.models import JOB_TERMINAL, GenerationJob, JobStatus, Variant, VariantStatus
from studio.generation.services.budget import budget_settle
from studio.generation.services.launch import BROKER_ERRORS, job_publish

QUEUED_GRACE = timedelta(minutes=2)
SCREEN_STALE = timedelta(minutes=20)  # above the image check's longest backoff (15 min)
BATCH = 200


def job_lease() -> timedelta:
    """How long a claimed job may run before another delivery may take it over: above the job task's
    soft time limit (600 s) plus a margin, so a live worker never loses its job."""
    return timedelta(seconds=getattr(settings, "IMPRIMATUR_JOB_LEASE_SECONDS", 900))


def screen_publish(variant_id: int) -> bool:
    try:
        tasks.safety_retry_pending_variant.delay(variant_id)
    except BROKER_ERRORS:
        return False
    return True


@dataclass
class SweepReport:
    requeued: list[int] = field(default_factory=list)
    rescreened: list[int] = field(default_factory=list)
    released: list[int] = field(default_factory=list)

    @property
    def repairs(self) -> int:
        return len(self.requeued) + len(self.rescreened) + len(self.released)


def _job_requeue(job_id: int, *, now: datetime, publish: Callable[[int], bool]) -> bool:
    with transaction.atomic():
        job = job_lock(job_id, related=("workspace",))
        stale_running = job.status == JobStatus.RUNNING and (job.claimed_at or job.started_at or job.created_at) < (
            now - job_lease()
        )
        stale_queued = job.status == JobStatus.QUEUED and job.created_at < now - QUEUED_GRACE
        if not (stale_running or stale_queued):
            return False
        if not publish(job.pk):
            return False  # the broker is still down: try again next sweep, record nothing
        reason = "no worker picked it up" if stale_queued else "its worker stopped before finishing"
        events.job_requeued(job=job, reason=reason, status=job.status)
    return True


def _variant_rescreen(variant_id: int, *, publish: Callable[[int], bool]) -> bool:
    with transaction.atomic():
        variant = Variant.objects.select_for_update(of=("self",)).select_related("workspace").get(pk=variant_id)
        if variant.status != VariantStatus.SAFETY_PENDING or not publish(variant.pk):
            return False
        events.variant_rescreen_requeued(variant=variant, reason="its safety check was never answered")
    return True


def _reservation_release(job_id: int) -> bool:
    with transaction.atomic():
        job = job_lock_with_campaign(job_id, related=("workspace",))  # campaign, job, then the audit event
        if job.status not in JOB_TERMINAL or job.reserved_cost <= 0:
            return False
        amount = job.reserved_cost
        budget_settle(job=job, actual=Decimal(0))  # releases only: the job's real cost was counted when it ended
        job.save(update_fields=["reserved_cost"])
        events.job_reservation_released(job=job, amount=amount)
    return True


def jobs_sweep(
    *,
    now: datetime | None = None,
    publish_job: Callable[[int], bool] = job_publish,
    publish_screen: Callable[[int], bool] = screen_publish,
) -> SweepReport:
    """Find and repair stuck jobs and images (see the module docstring). Safe to run at any time."""
    now = now or timezone.now()
    report = SweepReport()
    stuck_jobs = GenerationJob.objects.filter(
        Q(status=JobStatus.QUEUED, created_at__lt=now - QUEUED_GRACE)
        | Q(status=JobStatus.RUNNING, claimed_at__lt=now - job_lease())
        | Q(status=JobStatus.RUNNING, claimed_at__isnull=True, started_at__lt=now - job_lease())
    ).order_by("pk")
    for job_id in stuck_jobs.values_list("pk", flat=True)[:BATCH]:
        if _job_requeue(job_id, now=now, publish=publish_job):
            report.requeued.append(job_id)
    pending = (
        Variant.objects.filter(status=VariantStatus.SAFETY_PENDING, created_at__lt=now - QUEUED_GRACE)
        .annotate(last_check=Max("assessments__created_at"))
        .filter(Q(last_check__isnull=True) | Q(last_check__lt=now - SCREEN_STALE))
        .order_by("pk")
    )
    for variant_id in pending.values_list("pk", flat=True)[:BATCH]:
        if _variant_rescreen(variant_id, publish=publish_screen):
            report.rescreened.append(variant_id)
    held = GenerationJob.objects.filter(status__in=JOB_TERMINAL, reserved_cost__gt=0).order_by("pk")
    for job_id in held.values_list("pk", flat=True)[:BATCH]:
        if _reservation_release(job_id):
            report.released.append(job_id)
    return report
