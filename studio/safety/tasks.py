"""Celery tasks for fail-closed screenings: screen a new variant's image, retrying a pending check with
bounded exponential backoff (a job's pending prompt check is retried by ``studio.tasks.job_run`` itself).

Thin wrappers: take ids, re-fetch, return early when nothing is pending any more, call one service.
"""

from __future__ import annotations

from celery import shared_task

from studio.core.models import Workspace
from studio.generation.models import Variant
from studio.safety import services
from studio.safety.azure import blocklist_sync
from studio.safety.types import ScreenerUnavailable

MAX_RETRIES = 8
BASE_DELAY_SECONDS = 15
MAX_DELAY_SECONDS = 15 * 60


def backoff_seconds(retries: int) -> int:
    """15 s, 30 s, 1 min, 2 min ... capped at 15 minutes."""
    return min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2**retries)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=MAX_RETRIES,
    soft_time_limit=120,
    name="approvals.safety.tasks.safety_retry_pending_variant",
)
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
        services.variant_safety_gave_up(
            variant=Variant.objects.select_related("workspace").get(pk=variant_id), attempts=self.request.retries + 1
        )
        return "pending"
    raise self.retry(countdown=backoff_seconds(self.request.retries))


@shared_task(
    bind=True, acks_late=True, max_retries=5, soft_time_limit=120, name="approvals.safety.tasks.safety_blocklist_sync"
)
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
