"""Celery tasks of the safety layer: push a workspace's blocklist to Azure after it changes.

Retrying a new image's pending check is the studio's task (``studio.generation.tasks``, still named
``approvals.safety.tasks.safety_retry_pending_variant``), because it moves the image's status; it shares
``backoff_seconds`` from here.
"""

from __future__ import annotations

from celery import shared_task

from studio.core.models import Workspace
from studio.safety.azure import blocklist_sync
from studio.safety.types import ScreenerUnavailable

BASE_DELAY_SECONDS = 15
MAX_DELAY_SECONDS = 15 * 60


def backoff_seconds(retries: int) -> int:
    """15 s, 30 s, 1 min, 2 min ... capped at 15 minutes."""
    return min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2**retries)


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
