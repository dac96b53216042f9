"""A delivery's claim on a job: one conditional UPDATE that makes exactly one delivery the job's caller,
and its renewal when the job waited long for a deployment slot (see ``job_execute``)."""

from __future__ import annotations

from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from studio.generation.models import JOB_TERMINAL, GenerationJob, JobStatus
from studio.generation.services.sweeper import job_lease

# A job may wait for a deployment slot (up to ``IMPRIMATUR_LIMITER_MAX_WAIT_SECONDS``) before its call: a
# long wait renews the claim, so the sweeper never re-queues a job whose call is only now starting (a
# second delivery would make a second, billed call). Short waits skip the UPDATE: the lease covers them.
CLAIM_REFRESH_AFTER_WAIT_S = 5.0


def claim_refresh(job: GenerationJob) -> None:
    now = timezone.now()
    GenerationJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(claimed_at=now)
    job.claimed_at = now


def job_claim(job: GenerationJob, *, related: tuple[str, ...]) -> tuple[GenerationJob, bool]:
    """Mark the job running; ``False`` (with the job as it now is) when another delivery finished it or
    holds a live lease on it.

    One conditional ``UPDATE`` instead of lock, re-read, save: PostgreSQL takes the row lock and re-checks
    the condition on the row as it is once a concurrent writer commits, so exactly one of two deliveries
    claims the job (the other matches no row), in one round trip instead of four."""
    now = timezone.now()
    live_lease = Q(status=JobStatus.RUNNING, claimed_at__isnull=False, claimed_at__gt=now - job_lease())
    claimed = (
        GenerationJob.objects.filter(pk=job.pk)
        .exclude(status__in=JOB_TERMINAL)
        .exclude(live_lease)
        .update(
            status=JobStatus.RUNNING,
            attempts=F("attempts") + 1,
            progress=30,
            started_at=Coalesce("started_at", Value(now)),
            claimed_at=now,
            error_message="",
        )
    )
    if not claimed:
        # Another delivery (a re-publish by the sweeper, a duplicate) finished the job or holds a live
        # lease: never make a second, billed provider call for the same job. A crashed worker's lease runs
        # out, then it's ours.
        return GenerationJob.objects.select_related(*related).get(pk=job.pk), False
    job.status = JobStatus.RUNNING
    job.attempts += 1  # as the UPDATE counted; read only by messages until the record re-reads the row
    job.progress = 30
    job.started_at = job.started_at or now
    job.claimed_at = now
    job.error_message = ""
    return job, True
