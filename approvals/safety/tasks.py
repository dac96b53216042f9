"""Celery tasks for fail-closed screenings: retry a pending check with bounded exponential backoff.

Thin wrappers: take ids, re-fetch, return early when nothing is pending any more, call one service.
"""

from __future__ import annotations

from celery import shared_task
from django.db import transaction

from studio.models import GenerationJob, JobStatus, Variant, Workspace

from . import services
from .azure import blocklist_sync
from .types import ScreenerUnavailable

MAX_RETRIES = 8
BASE_DELAY_SECONDS = 15
MAX_DELAY_SECONDS = 15 * 60


def backoff_seconds(retries: int) -> int:
    """15 s, 30 s, 1 min, 2 min ... capped at 15 minutes."""
    return min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2 ** retries)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=MAX_RETRIES, soft_time_limit=120)
def safety_retry_pending_variant(self, variant_id: int) -> str:
    try:
        screening = services.variant_rescreen(variant_id=variant_id)
    except Variant.DoesNotExist:
        return "gone"
    if screening is None:
        return "done"
    if not screening.pending:
        return screening.verdict
    if self.request.retries >= MAX_RETRIES:
        services.variant_safety_gave_up(variant=Variant.objects.select_related("workspace").get(pk=variant_id),
                                        attempts=self.request.retries + 1)
        return "pending"
    raise self.retry(countdown=backoff_seconds(self.request.retries))


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=MAX_RETRIES, soft_time_limit=120)
def safety_retry_pending_job(self, job_id: int) -> str:
    """Re-screen a job whose prompt check is pending; once final, hand the job back to the generation
    pipeline (``studio.tasks.job_run``), which decides whether to generate or to block it."""
    job = GenerationJob.objects.select_related("workspace").filter(pk=job_id).first()
    if job is None or job.status != JobStatus.SAFETY_PENDING:
        return "done"
    screening = services.job_prompt_rescreen(job=job)
    if screening.pending:
        if self.request.retries >= MAX_RETRIES:
            return "pending"  # the job stays "safety check pending": fail closed, visible in the UI
        raise self.retry(countdown=backoff_seconds(self.request.retries))
    from studio.tasks import job_run  # imported late: studio's pipeline imports this package

    transaction.on_commit(lambda: job_run.delay(job_id))
    return screening.verdict


@shared_task(bind=True, acks_late=True, max_retries=5, soft_time_limit=120)
def safety_blocklist_sync(self, workspace_id: int) -> dict[str, int] | None:
    """Push a workspace's blocklist terms to Azure after they change (run on commit of the change)."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return None
    try:
        return blocklist_sync(workspace=workspace)
    except ScreenerUnavailable as exc:
        if not exc.retryable or self.request.retries >= 5:
            raise
        raise self.retry(countdown=backoff_seconds(self.request.retries)) from exc
