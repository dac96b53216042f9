"""In-app notifications and their emails. Core owns them so every app can tell a person something
(a review assigned, a reminder, a finished publication) without knowing the app that reads the inbox."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from studio.core.models import Notification, Workspace
from studio.core.tasks import notification_email


def notification_send(
    *, user, workspace: Workspace, kind: str, text: str, url: str = "", email: bool = False
) -> Notification:
    """An in-app notification, plus an email after commit when ``email`` is set. Runs inside the
    caller's transaction so the notice exists exactly when the change it announces does."""
    notification = Notification.objects.create(
        user=user, workspace=workspace, kind=kind[:40], text=text[:400], url=url[:300]
    )
    if email and user.email:
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
