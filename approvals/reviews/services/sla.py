"""Due dates: remind an overdue stage's assignees once, escalate to the workspace admins after twice
the SLA. Run by the periodic ``reviews_send_reminders`` task; each stage is locked while it is handled,
so two overlapping runs send one reminder."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from approvals.reviews import events
from approvals.reviews.models import ReviewStage, StageStatus
from approvals.reviews.services._common import review_url, when
from studio.core.models import Role
from studio.core.notifications import notification_send
from studio.core.permissions import members_with_role


def _stage_reminder_text(stage: ReviewStage, *, escalation: bool) -> str:
    review = stage.review
    title = review.variant.draft.title
    due = when(stage.due_at)
    if escalation:
        return f"Escalated: {stage.get_kind_display().lower()} of {title} was due {due} and is still open."
    return f"Reminder: {stage.get_kind_display().lower()} of {title} was due {due}."


def _lock_stage(stage: ReviewStage) -> ReviewStage:
    return (
        ReviewStage.objects.select_for_update(of=("self",), no_key=True)
        .select_related("review__workspace", "review__variant__draft")
        .get(pk=stage.pk)
    )


@transaction.atomic
def stage_remind(*, actor=None, stage: ReviewStage, now: datetime | None = None) -> bool:
    """Remind an overdue stage's assignees, once (``reminded_at``). Returns whether a reminder went out."""
    now = now or timezone.now()
    stage = _lock_stage(stage)
    if stage.status != StageStatus.PENDING or stage.reminded_at or not stage.due_at or stage.due_at >= now:
        return False
    stage.reminded_at = now
    stage.save(update_fields=["reminded_at"])
    text = _stage_reminder_text(stage, escalation=False)
    recipients = list(stage.assignees.all())
    for user in recipients:
        notification_send(
            user=user,
            workspace=stage.review.workspace,
            kind="review.reminder",
            text=text,
            url=review_url(stage.review),
            email=True,
        )
    events.stage_reminded(stage=stage, actor=actor, recipients=recipients)
    return True


@transaction.atomic
def stage_escalate(*, actor=None, stage: ReviewStage, now: datetime | None = None) -> bool:
    """After twice the SLA, tell the workspace admins (once, ``escalated_at``)."""
    now = now or timezone.now()
    stage = _lock_stage(stage)
    workspace = stage.review.workspace
    if stage.status != StageStatus.PENDING or stage.escalated_at or not stage.due_at:
        return False
    if stage.due_at + timedelta(hours=workspace.review_sla_hours) > now:
        return False
    stage.escalated_at = now
    stage.save(update_fields=["escalated_at"])
    text = _stage_reminder_text(stage, escalation=True)
    admins = list(members_with_role(workspace, [Role.ADMIN]))
    for user in admins:
        notification_send(
            user=user,
            workspace=workspace,
            kind="review.escalated",
            text=text,
            url=review_url(stage.review),
            email=True,
        )
    events.stage_escalated(stage=stage, actor=actor, recipients=admins)
    return True
