"""Review notifications: who is told that a stage waits for them. Sending itself is core's
(``studio.core.notifications``)."""

from __future__ import annotations

from approvals.reviews.models import Review, ReviewStage
from approvals.reviews.services._common import review_url
from studio.core.notifications import notification_send, notifications_mark_read

__all__ = ["notification_send", "notifications_mark_read", "stage_notify"]  # the first two live in core


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
