"""Thin Celery wrappers: take ids, call one service, turn ``JobRetry`` into a Celery retry. Image screening
of new variants is ``approvals.safety.tasks.safety_retry_pending_variant``.

``acks_late`` + ``reject_on_worker_lost`` mean a worker killed mid-job gets the message redelivered; the
services re-check state under a row lock, so a second run never creates a second set of variants or
counts cost twice.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from studio.generation import services


def _max_retries() -> int:
    # Retries are bounded by the services (job.attempts); this only has to be generous enough.
    return settings.IMPRIMATUR_PROVIDER_MAX_RETRIES + 12


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
    soft_time_limit=600,
    name="studio.tasks.job_run",
)
def job_run(self, job_id: int) -> None:
    try:
        services.job_execute(job_id=job_id)
    except services.JobRetry as retry:
        if self.request.retries >= _max_retries():
            services.job_give_up(job_id=job_id, reason=retry.reason)
            return
        raise self.retry(countdown=retry.countdown) from retry
