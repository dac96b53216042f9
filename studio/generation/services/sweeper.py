"""The repair path for every stuck state of a job or a new image (issue 10), run by ``jobs_sweep`` every
minute from Celery beat (``make run`` starts the worker with ``-B``).

Work is enqueued through the transactional outbox (``studio.core.outbox``): the row commits with the
state change and is published after the commit. When the broker was down then, the process died after
the commit, or a worker died holding a job, nothing else would ever pick the work up. The sweeper finds
those and repairs them, one audit event per repair:

- an outbox row the broker never took is published again (``core.outbox.republished``);
- a job "queued" for longer than ``queued_grace()`` with nothing waiting in the outbox is published again
  (``studio.job.requeued``) — its message was lost by the broker;
- a job "running" whose lease ran out (claimed longer ago than the slowest task may run) is published
  again; the next delivery takes over the lease (``_job_claim``) — a live lease is never taken twice, so
  re-publishing never makes a second provider call for a job still in progress;
- a job "retrying" whose retry is overdue by more than a lease (its countdown message died with a worker)
  is published again the same way;
- a variant "safety_pending" with no screening for ``SCREEN_STALE`` is screened again
  (``studio.variant.rescreen_requeued``);
- a finished job that still holds a budget reservation releases it (``studio.job.reservation_released``);
- a success recorded more than a lease ago whose cost its worker never counted on the campaign (it stopped
  between the two steps of ``studio.generation.services.budget``) is counted now (``studio.job.cost_settled``).

Idempotent: each repair re-checks the row under its lock (lock order: ``studio.generation.locks``), and
job execution and screening re-check state under their own locks, so a duplicate message does nothing.
A repair writes its outbox row and its audit event in one transaction; if the broker is still down the
row waits for the next sweep, and no second row is written for the same work meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from studio.core.outbox import outbox_enqueue, outbox_key, outbox_republish, outbox_waiting
from studio.core.outbox.models import OutboxMessage
from studio.generation import events, extensions
from studio.generation.locks import job_lock, job_lock_with_campaign
from studio.generation.models import JOB_TERMINAL, GenerationJob, JobStatus, Variant, VariantStatus
from studio.generation.services.budget import budget_settle, budget_settle_recorded
from studio.generation.services.launch import JOB_RUN_TASK, job_publish
from studio.lib.providers.retry import MAX_HONOURED_RETRY_AFTER

SCREEN_STALE = timedelta(minutes=20)  # above the image check's longest backoff (15 min)
BATCH = 200
# The longest countdown a retrying job may wait for (a server's retry-after is honoured up to this).
RETRY_COUNTDOWN_MAX = timedelta(seconds=MAX_HONOURED_RETRY_AFTER)


def job_lease() -> timedelta:
    """How long a claimed job may run before another delivery may take it over: above the job task's
    soft time limit (600 s) plus a margin, so a live worker never loses its job."""
    return timedelta(seconds=getattr(settings, "IMPRIMATUR_JOB_LEASE_SECONDS", 900))


SCREEN_TASK = "approvals.safety.tasks.safety_retry_pending_variant"  # ``tasks.safety_retry_pending_variant``


def screen_publish(variant_id: int, *, workspace) -> None:
    """Record one image check in the outbox (caller's transaction); published after the commit."""
    outbox_enqueue(SCREEN_TASK, [variant_id], workspace=workspace)


def queued_grace() -> timedelta:
    """How long a job may stay "queued" after its message was published before the sweeper assumes the
    broker lost it. A message is only lost with the broker's data (the outbox covers a broker that was
    down), so this is generous: a long batch's last job may wait this long for a free worker."""
    return timedelta(seconds=getattr(settings, "IMPRIMATUR_QUEUED_GRACE_SECONDS", 600))


@dataclass
class SweepReport:
    republished: list[int] = field(default_factory=list)  # outbox rows
    requeued: list[int] = field(default_factory=list)
    rescreened: list[int] = field(default_factory=list)
    released: list[int] = field(default_factory=list)

    @property
    def repairs(self) -> int:
        return len(self.republished) + len(self.requeued) + len(self.rescreened) + len(self.released)


def _last_published(job_id: int):
    return OutboxMessage.objects.filter(key=outbox_key(JOB_RUN_TASK, [job_id])).aggregate(last=Max("published_at"))[
        "last"
    ]


def _job_stuck_reason(job: GenerationJob, *, now: datetime) -> str:
    """Why ``job`` (locked) needs re-publishing, or "" when it does not.

    A re-publish already sent since the job was last claimed is on its way (behind a batch's backlog, say):
    it is not sent again until it, too, is older than ``queued_grace()``, so a busy queue never fills up
    with copies of the same job."""
    claimed = job.claimed_at or job.started_at or job.created_at
    published = _last_published(job.pk)
    on_its_way = published is not None and published > max(claimed, now - queued_grace())
    if job.status == JobStatus.RUNNING:
        if claimed < now - job_lease() and not on_its_way:
            return "its worker stopped before finishing"
    elif job.status == JobStatus.RETRYING:
        if claimed < now - job_lease() - RETRY_COUNTDOWN_MAX and not on_its_way:
            return "its retry never ran (its worker stopped)"
    elif job.status == JobStatus.QUEUED and (published or job.created_at) < now - queued_grace():
        return "no worker picked it up"
    return ""


def _job_requeue(job_id: int, *, now: datetime) -> bool:
    with transaction.atomic():
        job = job_lock(job_id, related=("workspace",))
        if outbox_waiting(JOB_RUN_TASK, [job.pk]):
            return False  # already waiting in the outbox: its row is re-sent, never a second one
        reason = _job_stuck_reason(job, now=now)
        if not reason:
            return False
        job_publish(job)
        events.job_requeued(job=job, reason=reason, status=job.status)
    return True


def _variant_rescreen(variant_id: int) -> bool:
    with transaction.atomic():
        variant = (
            Variant.objects.select_for_update(of=("self",), no_key=True).select_related("workspace").get(pk=variant_id)
        )
        if variant.status != VariantStatus.SAFETY_PENDING or outbox_waiting(SCREEN_TASK, [variant.pk]):
            return False
        screen_publish(variant.pk, workspace=variant.workspace)
        events.variant_rescreen_requeued(variant=variant, reason="its safety check was never answered")
    return True


def _reservation_release(job_id: int) -> bool:
    with transaction.atomic():
        job = job_lock_with_campaign(job_id, related=("workspace",))  # campaign, job, then the audit event
        if job.status not in JOB_TERMINAL or (job.reserved_cost <= 0 and not job.settle_pending):
            return False
        amount = job.reserved_cost
        if job.settle_pending:  # recorded, but its worker stopped before counting the cost on the campaign
            if budget_settle_recorded(job):  # the one settle path (its locks are held already)
                events.job_cost_settled(job=job, amount=amount, actual=job.actual_cost or Decimal(0))
            return True
        budget_settle(job=job, actual=Decimal(0))  # releases only: the job's real cost was counted when it ended
        job.save(update_fields=["reserved_cost"])
        events.job_reservation_released(job=job, amount=amount)
    return True


def jobs_sweep(*, now: datetime | None = None) -> SweepReport:
    """Find and repair stuck work, jobs and images (see the module docstring). Safe to run at any time."""
    now = now or timezone.now()
    report = SweepReport()
    report.republished = outbox_republish(now=now).published
    lease_ago = now - job_lease()
    stuck_jobs = GenerationJob.objects.filter(
        Q(status=JobStatus.QUEUED, created_at__lt=now - queued_grace())
        | Q(status=JobStatus.RUNNING, claimed_at__lt=lease_ago)
        | Q(status=JobStatus.RUNNING, claimed_at__isnull=True, started_at__lt=lease_ago)
        | Q(status=JobStatus.RETRYING, claimed_at__lt=lease_ago - RETRY_COUNTDOWN_MAX)
    ).order_by("pk")
    for scheduled_elsewhere in extensions.self_scheduled_jobs():  # production runs repair their own cells
        stuck_jobs = stuck_jobs.exclude(pk__in=scheduled_elsewhere)
    for job_id in stuck_jobs.values_list("pk", flat=True)[:BATCH]:
        if _job_requeue(job_id, now=now):
            report.requeued.append(job_id)
    pending = (
        Variant.objects.filter(status=VariantStatus.SAFETY_PENDING, created_at__lt=now - SCREEN_STALE)
        .annotate(last_check=Max("assessments__created_at"))
        .filter(Q(last_check__isnull=True) | Q(last_check__lt=now - SCREEN_STALE))
        .order_by("pk")
    )
    for variant_id in pending.values_list("pk", flat=True)[:BATCH]:
        if _variant_rescreen(variant_id):
            report.rescreened.append(variant_id)
    # A success whose cost is not on its campaign yet is settled by its worker a moment after its record:
    # only one left so past the lease (the worker stopped in between) is the sweeper's.
    held = (
        GenerationJob.objects.filter(status__in=JOB_TERMINAL)
        .filter(Q(reserved_cost__gt=0) | Q(settle_pending=True))
        .exclude(settle_pending=True, finished_at__gte=lease_ago)
        .order_by("pk")
    )
    for job_id in held.values_list("pk", flat=True)[:BATCH]:
        if _reservation_release(job_id):
            report.released.append(job_id)
    return report
