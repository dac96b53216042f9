"""Thin Celery wrappers for the approval workflow: take ids, re-fetch, return early when the work is
already done, call one service. (Publishing's render task is ``approvals.publishing.tasks``.)"""

from __future__ import annotations

from celery import shared_task
from django.core.mail import send_mail
from django.utils import timezone

from approvals.reviews import selectors, services
from studio.core.models import Notification


@shared_task(
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=30,
    max_retries=5,
    soft_time_limit=60,
    name="approvals.tasks.notification_email",
)
def notification_email(notification_id: int) -> None:
    """Email one notification to its user (reminders, escalations, assignments)."""
    notification = Notification.objects.select_related("user", "workspace").filter(pk=notification_id).first()
    if notification is None or not notification.user.email:
        return
    body = notification.text + (f"\n\nOpen it in Imprimatur: {notification.url}" if notification.url else "")
    send_mail(f"[{notification.workspace.name}] {notification.text[:120]}", body, None, [notification.user.email])


@shared_task(acks_late=True, soft_time_limit=300, name="approvals.tasks.reviews_send_reminders")
def reviews_send_reminders() -> dict[str, int]:
    """Periodic (CELERY_BEAT_SCHEDULE): remind overdue stages once, escalate after twice the SLA."""
    now = timezone.now()
    reminded = sum(services.stage_remind(stage=stage, now=now) for stage in selectors.overdue_stages(now=now))
    escalated = sum(services.stage_escalate(stage=stage, now=now) for stage in selectors.stages_to_escalate(now=now))
    return {"reminded": reminded, "escalated": escalated}
