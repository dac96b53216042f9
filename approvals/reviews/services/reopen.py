"""Taking a decision back: "Undo" within seconds of making it, and "Reopen" for one made in error.

Both put the stage back to pending, as if the decision had not been made, and write one audit event
that keeps the decision's outcome, note, maker and time (the ``Decision`` row itself is removed, so the
stage can be decided again and the one-decision-per-reviewer rule still holds):

- **Undo** (``decision_undo``): only the decision's maker, within ``UNDO_WINDOW`` of making it (the
  page shows the button for ``UNDO_SECONDS``; the server allows a few seconds more for the round trip);
- **Reopen** (``decision_reopen``): the maker or a workspace admin, any time before publication.

Neither is possible once a rendition of the image is published, once a newer version superseded the
review, or once a later stage was decided on top of it (reopen that one first). An override review's
decision changes the safety verdict and is not taken back here.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from approvals.reviews import events
from approvals.reviews.errors import StaleReview, WorkflowError
from approvals.reviews.models import Decision, Review, ReviewStage, ReviewStatus, StageStatus
from approvals.reviews.services._common import lock_review, lock_variant, review_url
from studio.core.errors import Forbidden
from studio.core.notifications import notification_send
from studio.core.permissions import can_administer
from studio.generation.lifecycle import variant_transition
from studio.generation.models import VariantStatus

UNDO_SECONDS = 10
UNDO_WINDOW = timedelta(seconds=UNDO_SECONDS + 5)
MAX_REASON_CHARS = 1000


class NotReopenable(WorkflowError):
    code = "not_reopenable"
    status = 409


class UndoExpired(WorkflowError):
    code = "undo_expired"
    status = 409


def _locked(decision_pk: int) -> tuple[Decision, Review, ReviewStage]:
    """Lock variant -> review -> stage (the workflow's order), then re-read the decision."""
    row = Decision.objects.filter(pk=decision_pk).values_list("stage__review__variant_id", "stage__review_id").first()
    if row is None:
        raise StaleReview("This decision was already taken back.")
    variant_id, review_id = row
    lock_variant(variant_id)
    review = lock_review(review_id)
    decision = Decision.objects.select_related("reviewer", "stage").filter(pk=decision_pk).first()
    if decision is None:
        raise StaleReview("This decision was already taken back.")
    stage = ReviewStage.objects.select_for_update(of=("self",), no_key=True).get(pk=decision.stage_id)
    return decision, review, stage


def _check(*, actor, decision: Decision, review: Review, stage: ReviewStage) -> None:
    variant = review.variant
    if review.is_override:
        raise NotReopenable("A safety override decision can't be taken back. Ask compliance to review it again.")
    if review.status not in (
        ReviewStatus.OPEN,
        ReviewStatus.APPROVED,
        ReviewStatus.CHANGES_REQUESTED,
        ReviewStatus.REJECTED,
    ):
        raise NotReopenable(f"This review is {review.get_status_display().lower()}, so its decisions stay as they are.")
    # ``publications`` is publishing's reverse relation (a layer above: read by name, never imported).
    published = getattr(variant, "publications", None)
    if variant.status == VariantStatus.PUBLISHED or (published is not None and published.exists()):
        raise NotReopenable("This image is already published, so its review can no longer be reopened.")
    if review.status != ReviewStatus.OPEN and variant.status not in (
        VariantStatus.APPROVED,
        VariantStatus.CHANGES_REQUESTED,
        VariantStatus.REJECTED,
    ):
        raise NotReopenable("This image moved on since the decision, so the review stays closed.")
    later = Decision.objects.filter(stage__review=review, stage__order__gt=stage.order).select_related("stage").first()
    if later is not None:
        raise NotReopenable(
            f"The {later.stage.get_kind_display().lower()} was decided after this one; reopen that decision first."
        )
    if Review.objects.filter(variant_id=review.variant_id, status=ReviewStatus.OPEN).exclude(pk=review.pk).exists():
        raise NotReopenable("A newer review of this image is open, so this one stays closed.")


def _revert(*, actor, decision: Decision, review: Review, stage: ReviewStage, undo: bool, reason: str) -> Review:
    was_open = review.status == ReviewStatus.OPEN
    # Stages opened or cancelled by this decision go back to waiting.
    if stage.status == StageStatus.APPROVED:
        review.stages.filter(order__gt=stage.order, status=StageStatus.PENDING).update(
            status=StageStatus.WAITING, due_at=None
        )
    review.stages.filter(order__gt=stage.order, status=StageStatus.CANCELLED).update(status=StageStatus.WAITING)
    stage.status, stage.decided_at = StageStatus.PENDING, None
    stage.save(update_fields=["status", "decided_at"])
    snapshot = Decision(
        pk=decision.pk,
        stage=stage,
        reviewer=decision.reviewer,
        outcome=decision.outcome,
        note=decision.note,
        created_at=decision.created_at,
    )
    decision.delete()

    def record(_variant=None) -> None:
        events.decision_reverted(undo=undo, review=review, stage=stage, decision=snapshot, actor=actor, reason=reason)

    if was_open:
        record()
        return review
    review.status, review.closed_at = ReviewStatus.OPEN, None
    try:
        with transaction.atomic():
            review.save(update_fields=["status", "closed_at"])
    except IntegrityError as exc:  # another open review of the image appeared meanwhile
        raise NotReopenable("A newer review of this image is open, so this one stays closed.") from exc
    variant_transition(actor=actor, variant=review.variant, to=VariantStatus.IN_REVIEW, event=record)
    return review


def _notify(*, actor, review: Review, snapshot_outcome: str, undo: bool) -> None:
    """The submitter heard how the review closed; tell them it is open again (not for a quiet undo of
    a decision that left the review open)."""
    if review.submitted_by_id == actor.pk:
        return
    verb = "undid" if undo else "reopened"
    notification_send(
        user=review.submitted_by,
        workspace=review.workspace,
        kind="review.reopened",
        text=f"{review.variant.draft.title} (variant #{review.variant_id}) is in review again: "
        f"{actor.get_username()} {verb} the decision ({snapshot_outcome.replace('_', ' ')}).",
        url=review_url(review),
    )


@transaction.atomic
def decision_undo(*, actor, decision: Decision) -> Review:
    """Take back ``actor``'s own decision within the undo window."""
    decision, review, stage = _locked(decision.pk)
    if decision.reviewer_id != actor.pk:
        raise Forbidden("Only the person who made a decision can undo it.")
    if timezone.now() - decision.created_at > UNDO_WINDOW:
        raise UndoExpired("The time to undo this decision has passed. Open the review and reopen the decision instead.")
    _check(actor=actor, decision=decision, review=review, stage=stage)
    was_closed = review.status != ReviewStatus.OPEN
    outcome = decision.outcome
    review = _revert(actor=actor, decision=decision, review=review, stage=stage, undo=True, reason="undo")
    if was_closed:
        _notify(actor=actor, review=review, snapshot_outcome=outcome, undo=True)
    return review


@transaction.atomic
def decision_reopen(*, actor, decision: Decision, reason: str = "") -> Review:
    """Reopen a decision made in error: by its maker or a workspace admin, before publication."""
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON_CHARS:
        raise WorkflowError(f"Keep the reason under {MAX_REASON_CHARS} characters.")
    decision, review, stage = _locked(decision.pk)
    if decision.reviewer_id != actor.pk and not can_administer(actor, review.workspace):
        raise Forbidden("Only the person who made this decision or a workspace admin can reopen it.")
    _check(actor=actor, decision=decision, review=review, stage=stage)
    outcome = decision.outcome
    review = _revert(actor=actor, decision=decision, review=review, stage=stage, undo=False, reason=reason)
    _notify(actor=actor, review=review, snapshot_outcome=outcome, undo=False)
    return review


def decision_reopenable(*, actor, decision: Decision, review: Review) -> bool:
    """Whether the review page offers "Reopen" on ``decision`` (the service re-checks everything)."""
    if review.is_override or review.status not in (
        ReviewStatus.OPEN,
        ReviewStatus.APPROVED,
        ReviewStatus.CHANGES_REQUESTED,
        ReviewStatus.REJECTED,
    ):
        return False
    return decision.reviewer_id == actor.pk or can_administer(actor, review.workspace)
