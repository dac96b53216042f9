"""Thin Celery wrappers for the approval workflow: take ids, re-fetch, return early when the work is
already done, call one service. (Publishing's render task is ``approvals.publishing.tasks``.)"""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from approvals.reviews import selectors, services
from studio.core.tasks import notification_email  # noqa: F401 - moved to core; old import path


@shared_task(acks_late=True, soft_time_limit=300, name="approvals.tasks.reviews_send_reminders")
def reviews_send_reminders() -> dict[str, int]:
    """Periodic (CELERY_BEAT_SCHEDULE): remind overdue stages once, escalate after twice the SLA."""
    now = timezone.now()
    reminded = sum(services.stage_remind(stage=stage, now=now) for stage in selectors.overdue_stages(now=now))
    escalated = sum(services.stage_escalate(stage=stage, now=now) for stage in selectors.stages_to_escalate(now=now))
    return {"reminded": reminded, "escalated": escalated}
