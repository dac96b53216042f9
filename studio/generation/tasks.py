"""Thin Celery wrappers: take ids, call one service, turn ``JobRetry`` into a Celery retry.

``acks_late`` + ``reject_on_worker_lost`` mean a worker killed mid-job gets the message redelivered; the
services re-check state under a row lock, so a second run never creates a second set of variants or
counts cost twice.

The image screening of new variants keeps the task name it had when it lived in the review app
(``approvals.safety.tasks.safety_retry_pending_variant``), so messages already queued still find it.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from studio.generation import screening, services
from studio.generation.models import Variant
from studio.generation.retrying import retry_transient_db_errors
from studio.safety.tasks import backoff_seconds

MAX_RETRIES = 8  # of a pending image check: 15 s doubling to 15 min, about an hour in all


# Provider retries are bounded by time in the services (the deployment's retry budget, waits capped at a
# minute or an open breaker's cool-down); this count is only a backstop against a loop and must stay above
# what a budget of ten minutes or more can use.
JOB_MAX_RETRIES = 200


def _max_retries() -> int:
    return getattr(settings, "IMPRIMATUR_JOB_MAX_TASK_RETRIES", JOB_MAX_RETRIES)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
    soft_time_limit=600,
    name="studio.tasks.job_run",
)
@retry_transient_db_errors(max_retries=10)
def job_run(self, job_id: int) -> None:
    """A deadlock or serialisation failure that escapes the services' own retry becomes a jittered Celery
    retry (``retry_transient_db_errors``): never acked as done with the job left "running"."""
    try:
        services.job_execute(job_id=job_id)
    except services.JobRetry as retry:
        if self.request.retries >= _max_retries():
            services.job_give_up(job_id=job_id, reason=retry.reason)
            return
        raise self.retry(countdown=retry.countdown) from retry


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=MAX_RETRIES,
    soft_time_limit=120,
    name="approvals.safety.tasks.safety_retry_pending_variant",
)
@retry_transient_db_errors(max_retries=MAX_RETRIES)
def safety_retry_pending_variant(self, variant_id: int) -> str:
    """Screen a new variant's image, retrying a pending check with bounded exponential backoff (a job's
    pending prompt check is retried by ``job_run`` itself)."""
    try:
        result = screening.variant_rescreen(variant_id=variant_id)
    except Variant.DoesNotExist:
        return "gone"
    if result is None:
        return "done"
    if not result.pending:
        return result.verdict
    if self.request.retries >= MAX_RETRIES:
        screening.variant_safety_gave_up(
            variant=Variant.objects.select_related("workspace").get(pk=variant_id), attempts=self.request.retries + 1
        )
        return "pending"
    raise self.retry(countdown=backoff_seconds(self.request.retries))


@shared_task(name="studio.tasks.jobs_sweep", ignore_result=True, soft_time_limit=120)
def jobs_sweep() -> int:
    """Every minute (Celery beat): re-send outbox rows the broker never took, re-queue queued jobs whose
    message was lost and running or retrying jobs past their lease, re-screen images whose check was never
    answered, release reservations of ended jobs."""
    from studio.generation.services.sweeper import jobs_sweep as sweep  # services import this module

    return sweep().repairs
