"""In-app notifications (and their emails) for the review workflow."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from approvals.reviews.models import Review, ReviewStage
from approvals.reviews.services._common import review_url
from studio.core.models import Notification, Workspace


def notification_send(
    *, user, workspace: Workspace, kind: str, text: str, url: str = "", email: bool = False
) -> Notification:
    """An in-app notification, plus an email after commit when ``email`` is set. Runs inside the
    caller's transaction so the notice exists exactly when the change it announces does."""
    notification = Notification.objects.create(
        user=user, workspace=workspace, kind=kind[:40], text=text[:400], url=url[:300]
    )
    if email and user.email:
        from approvals.reviews.tasks import notification_email  # tasks import the services: a cycle at load

        pk = notification.pk
        transaction.on_commit(lambda: notification_email.delay(pk))
    return notification


@transaction.atomic
def notifications_mark_read(*, actor, ids: Sequence[int] | None = None) -> int:
    """Mark the actor's own notifications read (all unread when ``ids`` is None). Returns how many."""
    qs = Notification.objects.filter(user=actor, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.update(read_at=timezone.now())


def stage_notify(*, stage: ReviewStage, review: Review, text: str) -> None:
    """Tell a stage's assignees that it waits for them (in-app and by email)."""
    for user in stage.assignees.all():
        notification_send(
            user=user,
            workspace=review.workspace,
            kind="review.assigned",
            text=text,
            url=review_url(review),
            email=True,
        )
