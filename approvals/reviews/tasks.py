"""Thin Celery wrappers for the approval workflow: take ids, re-fetch, return early when the work is
already done, call one service. Refusals become an in-app notice instead of a retry loop."""

from __future__ import annotations

from celery import shared_task
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import timezone

from approvals.publishing.models import Publication
from approvals.reviews import selectors, services
from studio.core.models import Notification
from studio.generation.models import CampaignFormat, Variant


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=300,
    time_limit=360,
    name="approvals.tasks.publication_render",
)
def publication_render(variant_id: int, format_id: int, actor_id: int) -> int | None:
    """Render and record one publication. Idempotent: a redelivered message finds the publication."""
    existing = Publication.objects.filter(variant_id=variant_id, target_format_id=format_id).first()
    if existing is not None:
        return existing.pk
    variant = Variant.objects.select_related("workspace", "draft").filter(pk=variant_id).first()
    target_format = CampaignFormat.objects.filter(pk=format_id).first()
    actor = get_user_model().objects.filter(pk=actor_id).first()
    if variant is None or target_format is None or actor is None:
        return None
    try:
        return services.publication_create(actor=actor, variant=variant, target_format=target_format).pk
    except (services.WorkflowError, PermissionDenied) as exc:
        services.notification_send(
            user=actor,
            workspace=variant.workspace,
            kind="publication.failed",
            text=f"Publishing {variant.draft.title} as {target_format.name} failed: {services.error_message(exc)}",
            url=reverse("approvals:publication_progress", kwargs={"variant_id": variant.pk, "format_id": format_id}),
        )
        return None


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
