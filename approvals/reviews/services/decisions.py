"""Deciding a stage, in three steps along its seams:

- ``decision_check`` validates the input, locks variant -> review -> stage, and refuses anything the
  actor may not do (role, stage state, a changed image, separation of duties, self-approval);
- ``decision_apply`` records the decision and moves stage, review and variant on, writing the one
  audit event (through ``variant_transition`` when the variant's status changes);
- ``decision_notify`` tells the next stage's assignees, or the submitter once the review closed.

``review_decide`` runs the three in one transaction. ``decision_attempt`` is what views call: it runs
``review_decide`` and, when the rules refuse, records the refusal (``approvals.review.decision_refused``)
in a transaction of its own, after the refused one rolled back, then re-raises.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from approvals.reviews import events, selectors
from approvals.reviews.errors import REFUSED, InvalidDecision, StageNotReady, StaleReview, refusal_code
from approvals.reviews.models import (
    ApprovalRule,
    Comment,
    Decision,
    DecisionOutcome,
    Review,
    ReviewStage,
    ReviewStatus,
    StageKind,
    StageStatus,
)
from approvals.reviews.services._common import (
    APPROVING,
    CLOSING,
    MAX_NOTE_CHARS,
    NOTE_REQUIRED,
    already_decided,
    lock_review,
    lock_variant,
    review_url,
    sla_due,
)
from approvals.reviews.services.notifications import stage_notify
from studio.core.errors import refusal_mark_recorded, refusal_message
from studio.core.models import Notification, Workspace
from studio.core.notifications import notification_send
from studio.core.permissions import RoleRequired, SelfApprovalForbidden, SeparationOfDuties, can_decide_kind
from studio.generation.lifecycle import variant_transition
from studio.generation.models import Variant, VariantStatus
from studio.safety.models import SafetyVerdict


@dataclass
class DecisionContext:
    """The locked rows a decision applies to, and the checked input."""

    variant: Variant
    review: Review
    stage: ReviewStage
    outcome: str
    note: str
    comment_ids: list[int] = field(default_factory=list)
    next_stage: ReviewStage | None = None


def _require_decider(actor, workspace: Workspace, kind: str) -> None:
    if not can_decide_kind(actor, workspace, kind):
        who = "brand reviewer or workspace admin" if kind == StageKind.BRAND else "compliance auditor"
        raise RoleRequired(f"Only a {who} can decide the {StageKind(kind).label.lower()} in {workspace.name}.")


def _stage_complete(stage: ReviewStage) -> bool:
    """Whether the approvals so far satisfy the stage's rule (any / all assignees / majority)."""
    if stage.rule == ApprovalRule.ANY:
        return True
    assignees = set(stage.assignees.values_list("pk", flat=True))
    if not assignees:
        return True
    approvers = set(stage.decisions.filter(outcome__in=APPROVING).values_list("reviewer_id", flat=True))
    if stage.rule == ApprovalRule.ALL:
        return assignees <= approvers
    return len(approvers & assignees) * 2 > len(assignees)


def _note_check(outcome: str, note: str) -> str:
    note = (note or "").strip()
    if outcome not in DecisionOutcome.values:
        raise InvalidDecision("Choose approve, approve with changes, request changes or reject.")
    if outcome in NOTE_REQUIRED and not note:
        raise InvalidDecision(NOTE_REQUIRED[outcome])
    if len(note) > MAX_NOTE_CHARS:
        raise InvalidDecision(f"Keep the note under {MAX_NOTE_CHARS} characters.")
    return note


def decision_check(
    *, actor, stage: ReviewStage, outcome: str, note: str, expected_sha256: str, comment_ids: Sequence[int]
) -> DecisionContext:
    """Validate and lock. Must run inside the caller's transaction (the locks last until it ends)."""
    note = _note_check(outcome, note)
    review_id = ReviewStage.objects.filter(pk=stage.pk).values_list("review_id", flat=True).first()
    variant_id = Review.objects.filter(pk=review_id).values_list("variant_id", flat=True).first()
    if review_id is None or variant_id is None:
        raise StaleReview("This review no longer exists.")
    variant = lock_variant(variant_id)
    review = lock_review(review_id)
    stage = ReviewStage.objects.select_for_update(of=("self",), no_key=True).get(pk=stage.pk)
    workspace = review.workspace

    _require_decider(actor, workspace, stage.kind)
    if stage.status not in (StageStatus.PENDING, StageStatus.WAITING):
        raise already_decided(stage)
    if review.status != ReviewStatus.OPEN:
        raise StaleReview(f"This review is closed ({review.get_status_display().lower()}); nothing to decide.")
    if expected_sha256 != review.variant_sha256 or variant.sha256 != review.variant_sha256:
        raise StaleReview("The image changed since you opened it. Reload the page and look again before deciding.")
    if stage.status == StageStatus.WAITING:
        raise StageNotReady("This stage opens once the earlier review stage approves.")
    if stage.decisions.filter(reviewer=actor).exists():
        raise already_decided(stage, reviewer=actor)
    if Decision.objects.filter(stage__review=review, reviewer=actor).exclude(stage=stage).exists():
        raise SeparationOfDuties("You decided the other stage of this review; someone else must decide this one.")
    if outcome in APPROVING and (
        actor.pk == review.submitted_by_id or actor.pk in selectors.lineage_creator_ids(variant=variant)
    ):
        raise SelfApprovalForbidden(
            "You made or submitted this image (or an earlier version of it), so someone else must approve it."
        )
    ids = sorted({int(pk) for pk in comment_ids})
    if ids and Comment.objects.filter(variant=variant, pk__in=ids).count() != len(ids):
        raise InvalidDecision("Some of the chosen comments do not belong to this image.")
    return DecisionContext(variant=variant, review=review, stage=stage, outcome=outcome, note=note, comment_ids=ids)


def decision_apply(*, actor, ctx: DecisionContext) -> Decision:
    """Record the decision and move the review on. Exactly one audit event: the decision's own."""
    variant, review, stage, outcome = ctx.variant, ctx.review, ctx.stage, ctx.outcome
    now = timezone.now()
    try:
        with transaction.atomic():
            decision = Decision.objects.create(
                stage=stage, reviewer=actor, outcome=outcome, note=ctx.note, variant_sha256=review.variant_sha256
            )
    except IntegrityError as exc:
        raise already_decided(stage, reviewer=actor) from exc

    target: str | None = None  # the variant's next status, if it changes
    stage_fields = ["status", "decided_at"]
    if outcome in CLOSING:
        stage_status, review_status, variant_status = CLOSING[outcome]
        stage.status, stage.decided_at = stage_status, now
        stage.save(update_fields=stage_fields)
        review.stages.filter(status__in=[StageStatus.WAITING, StageStatus.PENDING]).exclude(pk=stage.pk).update(
            status=StageStatus.CANCELLED
        )
        review.status, review.closed_at = review_status, now
        review.save(update_fields=["status", "closed_at"])
        if not review.is_override:  # a refused override leaves the image blocked
            target = variant_status
    elif _stage_complete(stage):
        stage.status, stage.decided_at = StageStatus.APPROVED, now
        stage.save(update_fields=stage_fields)
        ctx.next_stage = review.stages.filter(status=StageStatus.WAITING).order_by("order").first()
        if ctx.next_stage is not None:
            ctx.next_stage.status, ctx.next_stage.due_at = StageStatus.PENDING, sla_due(review.workspace, now)
            ctx.next_stage.save(update_fields=["status", "due_at"])
        else:
            review.status, review.closed_at = ReviewStatus.APPROVED, now
            review.save(update_fields=["status", "closed_at"])
            if review.is_override:
                # The override lifts the block only: the image still needs brand and compliance review
                # before anyone can publish it.
                variant.safety_verdict = SafetyVerdict.REVIEW
                variant.save(update_fields=["safety_verdict"])
                target = VariantStatus.READY
            else:
                target = VariantStatus.APPROVED

    builder = events.decision_builder(outcome=outcome, is_override=review.is_override, approving=outcome in APPROVING)

    def record(v: Variant) -> None:
        builder(
            decision=decision,
            review=review,
            variant=v,
            stage=stage,
            actor=actor,
            comment_ids=ctx.comment_ids,
            next_stage=ctx.next_stage,
        )

    if target is not None:
        variant_transition(actor=actor, variant=variant, to=target, event=record)
    else:
        record(variant)
    return decision


_CLOSED_WORDS = {
    ReviewStatus.APPROVED: "was approved",
    ReviewStatus.CHANGES_REQUESTED: "needs changes",
    ReviewStatus.REJECTED: "was rejected",
}


def decision_notify(*, ctx: DecisionContext) -> None:
    """The next stage's assignees learn it waits for them; the submitter learns how a review closed."""
    variant, review = ctx.variant, ctx.review
    title = variant.draft.title
    if ctx.stage.status != StageStatus.PENDING:
        notices_settle(review=review)
    if ctx.next_stage is not None:
        stage_notify(
            stage=ctx.next_stage,
            review=review,
            text=f"Compliance review requested: {title} (variant #{variant.pk}).",
        )
    if review.status == ReviewStatus.OPEN:
        return
    words = _CLOSED_WORDS[review.status]
    if review.is_override:
        words = "override granted" if review.status == ReviewStatus.APPROVED else "override refused"
    notification_send(
        user=review.submitted_by,
        workspace=review.workspace,
        kind=f"review.{review.status}",
        text=f"{title} (variant #{variant.pk}) {words}." + (f" {ctx.note}" if ctx.note else ""),
        url=review_url(review),
        email=True,
    )


# The notices that ask someone to decide: once the stage is decided they are no longer news.
ASKING_KINDS = ("review.assigned", "review.reminder", "review.escalated")


def notices_settle(*, review: Review) -> int:
    """Mark the unread "please decide" notices about ``review`` read, so the inbox stops showing a
    decided review as new (the notice stays, with its link, for the record)."""
    return Notification.objects.filter(kind__in=ASKING_KINDS, url=review_url(review), read_at__isnull=True).update(
        read_at=timezone.now()
    )


@transaction.atomic
def review_decide(
    *,
    actor,
    stage: ReviewStage,
    outcome: str,
    note: str = "",
    expected_sha256: str,
    comment_ids: Sequence[int] = (),
) -> Decision:
    """Record one reviewer's decision on one stage and move the review on.

    The stage row is locked, so of two reviewers deciding an "any" stage at once exactly one wins and
    the other gets ``AlreadyDecided`` naming who decided and when."""
    ctx = decision_check(
        actor=actor,
        stage=stage,
        outcome=outcome,
        note=note,
        expected_sha256=expected_sha256,
        comment_ids=comment_ids,
    )
    decision = decision_apply(actor=actor, ctx=ctx)
    decision_notify(ctx=ctx)
    return decision


def decision_attempt(
    *,
    actor,
    stage: ReviewStage,
    outcome: str,
    note: str = "",
    expected_sha256: str,
    comment_ids: Sequence[int] = (),
) -> Decision:
    """``review_decide``, leaving a trace when the rules refuse it (role, separation of duties,
    self-approval, a stale or closed review): auditors must see who tried to approve what they may not.

    The refusal is raised inside ``review_decide``'s transaction, which rolls back, so the event is
    written afterwards in its own transaction. ``review_decide`` itself still writes nothing when it
    refuses (its callers and tests rely on that). Input mistakes (``InvalidDecision``: a missing note, an
    unknown outcome) are the person's to fix, not a rule's verdict, and are not recorded."""
    try:
        return review_decide(
            actor=actor,
            stage=stage,
            outcome=outcome,
            note=note,
            expected_sha256=expected_sha256,
            comment_ids=comment_ids,
        )
    except InvalidDecision:
        raise
    except REFUSED as exc:
        decision_refusal_record(actor=actor, stage=stage, outcome=outcome, exc=exc)
        raise


def decision_refusal_record(*, actor, stage: ReviewStage, outcome: str, exc: Exception) -> None:
    """Write ``approvals.review.decision_refused`` for ``exc`` in its own transaction (nothing if the
    review is gone)."""
    current = ReviewStage.objects.select_related("review__workspace").filter(pk=stage.pk).first()
    if current is None:
        return
    with transaction.atomic():
        events.decision_refused(
            review=current.review,
            stage=current,
            actor=actor,
            attempted=outcome,
            code=refusal_code(exc),
            reason=refusal_message(exc),
        )
    refusal_mark_recorded(exc)
