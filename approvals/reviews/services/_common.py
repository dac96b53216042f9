"""What the workflow services share: row locks in one fixed order, due dates, wording, limits."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.urls import reverse
from django.utils import timezone

from approvals.reviews.errors import AlreadyDecided
from approvals.reviews.models import DecisionOutcome, Review, ReviewStage, ReviewStatus, StageStatus
from studio.core.audit import actor_label_for
from studio.core.models import Workspace
from studio.generation.models import Variant, VariantStatus

APPROVING = frozenset({DecisionOutcome.APPROVE, DecisionOutcome.APPROVE_WITH_CHANGES})
NOTE_REQUIRED = {
    DecisionOutcome.APPROVE_WITH_CHANGES: "Say which changes to make when you approve with changes.",
    DecisionOutcome.REQUEST_CHANGES: "Give a reason so the marketer knows what to change.",
    DecisionOutcome.REJECT: "Give a reason for rejecting this image.",
}
CLOSING = {
    DecisionOutcome.REQUEST_CHANGES: (
        StageStatus.CHANGES_REQUESTED,
        ReviewStatus.CHANGES_REQUESTED,
        VariantStatus.CHANGES_REQUESTED,
    ),
    DecisionOutcome.REJECT: (StageStatus.REJECTED, ReviewStatus.REJECTED, VariantStatus.REJECTED),
}
STATUS_WORDS = {
    VariantStatus.SAFETY_PENDING: "This image is still being checked for safety. Submit it once the check is done.",
    VariantStatus.BLOCKED: "The safety check blocked this image. You can ask compliance for an override instead.",
    VariantStatus.IN_REVIEW: "This version is already in review.",
    VariantStatus.CHANGES_REQUESTED: "Changes were requested on this version. Make an edited version and submit that.",
    VariantStatus.APPROVED: "This version is already approved.",
    VariantStatus.REJECTED: "This version was rejected. Make a new version and submit that.",
    VariantStatus.PUBLISHED: "This version is already published.",
    VariantStatus.SUPERSEDED: "A newer version replaced this one. Submit the newer version.",
}
MAX_COMMENT_CHARS = 4000
MAX_NOTE_CHARS = 4000


def lock_variant(pk: int) -> Variant:
    """Always first: variant, then review, then stage, so concurrent callers queue, never deadlock."""
    return Variant.objects.select_for_update(of=("self",), no_key=True).select_related("workspace").get(pk=pk)


def lock_review(pk: int) -> Review:
    return Review.objects.select_for_update(of=("self",), no_key=True).select_related("workspace").get(pk=pk)


def sla_due(workspace: Workspace, now: datetime) -> datetime:
    return now + timedelta(hours=workspace.review_sla_hours)


def review_url(review: Review) -> str:
    """Where a notification about ``review`` points: its page in its workspace."""
    return reverse("approvals:review_detail", kwargs={"slug": review.workspace.slug, "pk": review.pk})


def when(moment: datetime | None) -> str:
    if moment is None:
        return "an earlier moment"
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z").strip()


def already_decided(stage: ReviewStage, reviewer=None) -> AlreadyDecided:
    """The refusal that names who decided first and when (or the stage's closed state)."""
    decisions = stage.decisions.select_related("reviewer").order_by("-created_at", "-pk")
    if reviewer is not None:
        decisions = decisions.filter(reviewer=reviewer)
    last = decisions.first()
    if last is None:
        return AlreadyDecided(f"This stage is already closed ({stage.get_status_display().lower()}).")
    return AlreadyDecided(f"Already decided by {actor_label_for(last.reviewer)} at {when(last.created_at)}.")
