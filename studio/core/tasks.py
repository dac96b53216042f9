"""Core's Celery tasks: thin wrappers that take ids, re-fetch, and return early when there is nothing
to do."""

from __future__ import annotations

from celery import shared_task
from django.core.mail import send_mail

from studio.core.models import Notification


@shared_task(
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=30,
    max_retries=5,
    soft_time_limit=60,
    # The name it had in the review app: queued messages and worker routes keep working.
    name="approvals.tasks.notification_email",
)
def notification_email(notification_id: int) -> None:
    """Email one notification to its user (reminders, escalations, assignments)."""
    notification = Notification.objects.select_related("user", "workspace").filter(pk=notification_id).first()
    if notification is None or not notification.user.email:
        return
    body = notification.text + (f"\n\nOpen it in Imprimatur: {notification.url}" if notification.url else "")
    send_mail(f"[{notification.workspace.name}] {notification.text[:120]}", body, None, [notification.user.email])
