"""Approval workflow writes: submit, decide, supersede, override, comments, publishing, notifications.

Every service is keyword-only, takes ``actor``, runs in one transaction, locks the rows it changes in a
fixed order (variant -> review -> stage) so concurrent callers queue instead of deadlocking, checks the
transition, and writes exactly one audit event in the same transaction. Side effects (emails, tasks)
are enqueued with ``transaction.on_commit`` so nothing is sent for a change that rolled back.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from approvals.publishing.models import Publication
from approvals.reviews import selectors
from approvals.reviews.models import (
    ApprovalRule,
    Comment,
    Decision,
    DecisionOutcome,
    Review,
    ReviewStage,
    ReviewStatus,
    StageKind,
    StagePolicy,
    StageStatus,
)
from studio.core.audit import actor_label_for, audit_append
from studio.core.models import Notification, Role, Workspace
from studio.core.permissions import (
    RoleRequired,
    SelfApprovalForbidden,
    SeparationOfDuties,
    members_with_role,
    user_roles,
)
from studio.generation.models import CampaignFormat, Variant, VariantStatus
from studio.safety.models import SafetyVerdict

__all__ = [
    "AlreadyDecided",
    "AlreadyInReview",
    "InvalidComment",
    "InvalidDecision",
    "NotPublishable",
    "NotSubmittable",
    "StageNotReady",
    "StaleReview",
    "WorkflowError",
    "comment_add",
    "comment_resolve",
    "notification_send",
    "notifications_mark_read",
    "publication_create",
    "publication_check",
    "review_decide",
    "reviews_supersede",
    "stage_escalate",
    "stage_remind",
    "variant_request_override",
    "variant_submit",
]


class WorkflowError(Exception):
    """A refused transition. ``message`` is shown to the person as is."""

    code = "workflow_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotSubmittable(WorkflowError):
    code = "not_submittable"


class AlreadyInReview(WorkflowError):
    code = "already_in_review"


class StaleReview(WorkflowError):
    code = "stale_review"


class AlreadyDecided(WorkflowError):
    code = "already_decided"


class StageNotReady(WorkflowError):
    code = "stage_not_ready"


class InvalidDecision(WorkflowError):
    code = "invalid_decision"


class InvalidComment(WorkflowError):
    code = "invalid_comment"


class NotPublishable(WorkflowError):
    code = "not_publishable"


APPROVING = frozenset({DecisionOutcome.APPROVE, DecisionOutcome.APPROVE_WITH_CHANGES})
NOTE_REQUIRED = {
    DecisionOutcome.APPROVE_WITH_CHANGES: "Say which changes to make when you approve with changes.",
    DecisionOutcome.REQUEST_CHANGES: "Give a reason so the marketer knows what to change.",
    DecisionOutcome.REJECT: "Give a reason for rejecting this image.",
}
OUTCOME_ACTIONS = {
    DecisionOutcome.APPROVE: "approvals.stage.approved",
    DecisionOutcome.APPROVE_WITH_CHANGES: "approvals.stage.approved_with_changes",
    DecisionOutcome.REQUEST_CHANGES: "approvals.stage.changes_requested",
    DecisionOutcome.REJECT: "approvals.stage.rejected",
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


# --- helpers -------------------------------------------------------------------------------------


def _lock_variant(pk: int) -> Variant:
    return Variant.objects.select_for_update(of=("self",)).select_related("workspace").get(pk=pk)


def _lock_review(pk: int) -> Review:
    return Review.objects.select_for_update(of=("self",)).select_related("workspace").get(pk=pk)


def _sla_due(workspace: Workspace, now: datetime) -> datetime:
    return now + timedelta(hours=workspace.review_sla_hours)


def _review_url(review: Review) -> str:
    return reverse("approvals:review_detail", kwargs={"pk": review.pk})


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "an earlier moment"
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z").strip()


def _already_decided(stage: ReviewStage, reviewer=None) -> AlreadyDecided:
    decisions = stage.decisions.select_related("reviewer").order_by("-created_at", "-pk")
    if reviewer is not None:
        decisions = decisions.filter(reviewer=reviewer)
    last = decisions.first()
    if last is None:
        return AlreadyDecided(f"This stage is already closed ({stage.get_status_display().lower()}).")
    return AlreadyDecided(f"Already decided by {actor_label_for(last.reviewer)} at {_when(last.created_at)}.")


def _stage_assignee_ids(workspace: Workspace, kind: str, exclude: set[int]) -> tuple[str, list[int]]:
    """Rule and assignees from the workspace's ``StagePolicy``, else every holder of the stage's role.
    People who made the image are left out: they could never approve it, and "all"/"majority" rules
    must not wait for them."""
    policy = StagePolicy.objects.filter(workspace=workspace, kind=kind).first()
    ids: list[int] = []
    rule = ApprovalRule.ANY
    if policy is not None:
        rule = policy.rule
        ids = list(policy.assignees.values_list("pk", flat=True))
    if not ids:
        roles = [Role.BRAND_REVIEWER] if kind == StageKind.BRAND else [Role.COMPLIANCE]
        ids = list(members_with_role(workspace, roles).values_list("pk", flat=True))
        if not ids and kind == StageKind.BRAND:
            ids = list(members_with_role(workspace, [Role.ADMIN]).values_list("pk", flat=True))
    return rule, [pk for pk in ids if pk not in exclude]


def _create_stage(
    *, review: Review, kind: str, order: int, pending: bool, now: datetime, exclude: set[int]
) -> ReviewStage:
    rule, assignee_ids = _stage_assignee_ids(review.workspace, kind, exclude)
    stage = ReviewStage(
        review=review,
        kind=kind,
        order=order,
        rule=rule,
        status=StageStatus.PENDING if pending else StageStatus.WAITING,
        due_at=_sla_due(review.workspace, now) if pending else None,
    )
    stage.full_clean(exclude=["review"])
    stage.save()
    stage.assignees.set(assignee_ids)
    return stage


def _notify_stage(stage: ReviewStage, review: Review, text: str) -> None:
    for user in stage.assignees.all():
        notification_send(
            user=user,
            workspace=review.workspace,
            kind="review.assigned",
            text=text,
            url=_review_url(review),
            email=True,
        )


def _require_decider(actor, workspace: Workspace, kind: str) -> None:
    if not selectors.can_decide_kind(actor, workspace, kind):
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


# --- notifications -------------------------------------------------------------------------------


def notification_send(
    *, user, workspace: Workspace, kind: str, text: str, url: str = "", email: bool = False
) -> Notification:
    """An in-app notification, plus an email after commit when ``email`` is set. Runs inside the
    caller's transaction so the notice exists exactly when the change it announces does."""
    notification = Notification.objects.create(
        user=user, workspace=workspace, kind=kind[:40], text=text[:400], url=url[:300]
    )
    if email and user.email:
        from approvals.reviews.tasks import notification_email

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


# --- submit --------------------------------------------------------------------------------------


@transaction.atomic
def variant_submit(*, actor, variant: Variant) -> Review:
    """Put one exact version (its sha256) into review: brand always, then compliance when the safety
    verdict says "review" or the workspace is regulated."""
    variant = _lock_variant(variant.pk)
    workspace = variant.workspace
    if not selectors.can_submit(actor, workspace):
        raise RoleRequired(f"Only a marketer or workspace admin can submit images for review in {workspace.name}.")
    if (
        variant.status == VariantStatus.IN_REVIEW
        or Review.objects.filter(variant=variant, status=ReviewStatus.OPEN).exists()
    ):
        raise AlreadyInReview("This version is already in review.")
    if variant.status != VariantStatus.READY:
        raise NotSubmittable(STATUS_WORDS.get(variant.status, "This version cannot be submitted."))
    if variant.safety_verdict not in (SafetyVerdict.ALLOW, SafetyVerdict.REVIEW):
        raise NotSubmittable(
            STATUS_WORDS[VariantStatus.BLOCKED]
            if variant.safety_verdict == SafetyVerdict.BLOCK
            else STATUS_WORDS[VariantStatus.SAFETY_PENDING]
        )
    needs_compliance = variant.safety_verdict == SafetyVerdict.REVIEW or workspace.is_regulated
    now = timezone.now()
    try:
        with transaction.atomic():
            review = Review.objects.create(
                workspace=workspace,
                variant=variant,
                variant_sha256=variant.sha256,
                safety_verdict=variant.safety_verdict,
                submitted_by=actor,
            )
    except IntegrityError as exc:
        raise AlreadyInReview("This version is already in review.") from exc
    makers = selectors.lineage_creator_ids(variant=variant) | {actor.pk}
    brand = _create_stage(review=review, kind=StageKind.BRAND, order=1, pending=True, now=now, exclude=makers)
    kinds = [StageKind.BRAND]
    if needs_compliance:
        _create_stage(review=review, kind=StageKind.COMPLIANCE, order=2, pending=False, now=now, exclude=makers)
        kinds.append(StageKind.COMPLIANCE)
    variant.status = VariantStatus.IN_REVIEW
    variant.save(update_fields=["status"])
    audit_append(
        workspace=workspace,
        actor=actor,
        action="approvals.review.submitted",
        subject=review,
        data={
            "variant": variant.pk,
            "sha256": variant.sha256,
            "verdict": variant.safety_verdict,
            "stages": kinds,
            "due_at": brand.due_at,
            "regulated": workspace.is_regulated,
        },
    )
    _notify_stage(brand, review, f"Brand review requested: {variant.draft.title} (variant #{variant.pk}).")
    return review


# --- decide --------------------------------------------------------------------------------------


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
    note = (note or "").strip()
    if outcome not in DecisionOutcome.values:
        raise InvalidDecision("Choose approve, approve with changes, request changes or reject.")
    if outcome in NOTE_REQUIRED and not note:
        raise InvalidDecision(NOTE_REQUIRED[outcome])
    if len(note) > MAX_NOTE_CHARS:
        raise InvalidDecision(f"Keep the note under {MAX_NOTE_CHARS} characters.")

    review_id = ReviewStage.objects.filter(pk=stage.pk).values_list("review_id", flat=True).first()
    variant_id = Review.objects.filter(pk=review_id).values_list("variant_id", flat=True).first()
    if review_id is None or variant_id is None:
        raise StaleReview("This review no longer exists.")
    variant = _lock_variant(variant_id)
    review = _lock_review(review_id)
    stage = ReviewStage.objects.select_for_update(of=("self",)).get(pk=stage.pk)
    workspace = review.workspace

    _require_decider(actor, workspace, stage.kind)
    if stage.status not in (StageStatus.PENDING, StageStatus.WAITING):
        raise _already_decided(stage)
    if review.status != ReviewStatus.OPEN:
        raise StaleReview(f"This review is closed ({review.get_status_display().lower()}); nothing to decide.")
    if expected_sha256 != review.variant_sha256 or variant.sha256 != review.variant_sha256:
        raise StaleReview("The image changed since you opened it. Reload the page and look again before deciding.")
    if stage.status == StageStatus.WAITING:
        raise StageNotReady("This stage opens once the earlier review stage approves.")
    if stage.decisions.filter(reviewer=actor).exists():
        raise _already_decided(stage, reviewer=actor)
    if Decision.objects.filter(stage__review=review, reviewer=actor).exclude(stage=stage).exists():
        raise SeparationOfDuties("You decided the other stage of this review; someone else must decide this one.")
    if outcome in APPROVING and (
        actor.pk == review.submitted_by_id or actor.pk in selectors.lineage_creator_ids(variant=variant)
    ):
        raise SelfApprovalForbidden(
            "You made or submitted this image (or an earlier version of it), so someone else must approve it."
        )
    comment_ids = sorted({int(pk) for pk in comment_ids})
    if comment_ids and Comment.objects.filter(variant=variant, pk__in=comment_ids).count() != len(comment_ids):
        raise InvalidDecision("Some of the chosen comments do not belong to this image.")

    now = timezone.now()
    try:
        with transaction.atomic():
            decision = Decision.objects.create(
                stage=stage, reviewer=actor, outcome=outcome, note=note, variant_sha256=review.variant_sha256
            )
    except IntegrityError as exc:
        raise _already_decided(stage, reviewer=actor) from exc

    next_stage: ReviewStage | None = None
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
            variant.status = variant_status
            variant.save(update_fields=["status"])
    elif _stage_complete(stage):
        stage.status, stage.decided_at = StageStatus.APPROVED, now
        stage.save(update_fields=stage_fields)
        next_stage = review.stages.filter(status=StageStatus.WAITING).order_by("order").first()
        if next_stage is not None:
            next_stage.status, next_stage.due_at = StageStatus.PENDING, _sla_due(workspace, now)
            next_stage.save(update_fields=["status", "due_at"])
        else:
            review.status, review.closed_at = ReviewStatus.APPROVED, now
            review.save(update_fields=["status", "closed_at"])
            if review.is_override:
                # The override lifts the block only: the image still needs brand and compliance review
                # before anyone can publish it.
                variant.status, variant.safety_verdict = VariantStatus.READY, SafetyVerdict.REVIEW
                variant.save(update_fields=["status", "safety_verdict"])
            else:
                variant.status = VariantStatus.APPROVED
                variant.save(update_fields=["status"])

    if review.is_override:
        action = "approvals.safety.override_granted" if outcome in APPROVING else "approvals.safety.override_refused"
    else:
        action = OUTCOME_ACTIONS[outcome]
    audit_append(
        workspace=workspace,
        actor=actor,
        action=action,
        subject=decision,
        data={
            "review": review.pk,
            "variant": variant.pk,
            "stage": stage.kind,
            "outcome": outcome,
            "note": note,
            "sha256": review.variant_sha256,
            "comment_ids": comment_ids,
            "stage_status": stage.status,
            "review_status": review.status,
            "variant_status": variant.status,
            "next_stage": next_stage.kind if next_stage else None,
        },
    )

    title = variant.draft.title
    if next_stage is not None:
        _notify_stage(next_stage, review, f"Compliance review requested: {title} (variant #{variant.pk}).")
    if review.status != ReviewStatus.OPEN:
        words = {
            ReviewStatus.APPROVED: "was approved",
            ReviewStatus.CHANGES_REQUESTED: "needs changes",
            ReviewStatus.REJECTED: "was rejected",
        }[review.status]
        if review.is_override:
            words = "override granted" if review.status == ReviewStatus.APPROVED else "override refused"
        notification_send(
            user=review.submitted_by,
            workspace=workspace,
            kind=f"review.{review.status}",
            text=f"{title} (variant #{variant.pk}) {words}." + (f" {note}" if note else ""),
            url=_review_url(review),
            email=True,
        )
    return decision


# --- supersede & override ------------------------------------------------------------------------


@transaction.atomic
def reviews_supersede(*, actor, variant: Variant) -> int:
    """Close the open review of ``variant`` because a newer version was made from it (the edit
    pipeline calls this with the parent). Its stages are cancelled, so a stale version can never be
    approved or published. Returns how many reviews were closed (0 or 1)."""
    variant = _lock_variant(variant.pk)
    open_ids = list(
        Review.objects.filter(variant=variant, status=ReviewStatus.OPEN).order_by("pk").values_list("pk", flat=True)
    )
    now = timezone.now()
    for pk in open_ids:
        review = _lock_review(pk)
        review.status, review.closed_at = ReviewStatus.SUPERSEDED, now
        review.save(update_fields=["status", "closed_at"])
        review.stages.filter(status__in=[StageStatus.WAITING, StageStatus.PENDING]).update(status=StageStatus.CANCELLED)
        if variant.status == VariantStatus.IN_REVIEW:
            variant.status = VariantStatus.SUPERSEDED
            variant.save(update_fields=["status"])
        audit_append(
            workspace=variant.workspace,
            actor=actor,
            action="approvals.review.superseded",
            subject=review,
            data={"variant": variant.pk, "sha256": review.variant_sha256, "variant_status": variant.status},
        )
    return len(open_ids)


@transaction.atomic
def variant_request_override(*, actor, variant: Variant, reason: str) -> Review:
    """Ask compliance to lift a safety block, with a reason. Only compliance auditors can decide it."""
    reason = (reason or "").strip()
    variant = _lock_variant(variant.pk)
    workspace = variant.workspace
    if not selectors.can_submit(actor, workspace):
        raise RoleRequired(f"Only a marketer or workspace admin can ask for an override in {workspace.name}.")
    if not reason:
        raise InvalidDecision("Explain why this image should be allowed despite the safety block.")
    if len(reason) > MAX_NOTE_CHARS:
        raise InvalidDecision(f"Keep the reason under {MAX_NOTE_CHARS} characters.")
    if Review.objects.filter(variant=variant, status=ReviewStatus.OPEN).exists():
        raise AlreadyInReview("This version is already in review.")
    if variant.status != VariantStatus.BLOCKED:
        raise NotSubmittable("Only an image blocked by the safety check needs an override.")
    now = timezone.now()
    try:
        with transaction.atomic():
            review = Review.objects.create(
                workspace=workspace,
                variant=variant,
                variant_sha256=variant.sha256,
                safety_verdict=variant.safety_verdict,
                submitted_by=actor,
                is_override=True,
                override_reason=reason,
            )
    except IntegrityError as exc:
        raise AlreadyInReview("This version is already in review.") from exc
    makers = selectors.lineage_creator_ids(variant=variant) | {actor.pk}
    stage = _create_stage(review=review, kind=StageKind.COMPLIANCE, order=1, pending=True, now=now, exclude=makers)
    audit_append(
        workspace=workspace,
        actor=actor,
        action="approvals.safety.override_requested",
        subject=review,
        data={"variant": variant.pk, "sha256": variant.sha256, "reason": reason, "due_at": stage.due_at},
    )
    _notify_stage(stage, review, f"Safety override requested: {variant.draft.title} (variant #{variant.pk}).")
    return review


# --- comments ------------------------------------------------------------------------------------


def _clean_box(box: Sequence[float] | None) -> tuple[float, float, float, float] | None:
    if box is None:
        return None
    try:
        x, y, w, h = (float(v) for v in box)
    except (TypeError, ValueError) as exc:
        raise InvalidComment("The marked area is not valid; draw it again on the image.") from exc
    eps = 1e-6
    if not (0 <= x <= 1 and 0 <= y <= 1 and 0 < w <= 1 and 0 < h <= 1 and x + w <= 1 + eps and y + h <= 1 + eps):
        raise InvalidComment("The marked area must lie inside the image; draw it again.")
    return x, y, w, h


@transaction.atomic
def comment_add(
    *,
    actor,
    variant: Variant,
    text: str,
    box: tuple[float, float, float, float] | None = None,
    parent: Comment | None = None,
) -> Comment:
    """A comment on one exact variant, optionally pinned to a box in 0..1 image coordinates."""
    text = (text or "").strip()
    workspace = variant.workspace
    if not user_roles(actor, workspace):
        raise RoleRequired(f"Only members of {workspace.name} can comment here.")
    if not text:
        raise InvalidComment("Write a comment first.")
    if len(text) > MAX_COMMENT_CHARS:
        raise InvalidComment(f"Keep comments under {MAX_COMMENT_CHARS} characters.")
    clean = _clean_box(box)
    if parent is not None:
        if parent.variant_id != variant.pk:
            raise InvalidComment("You can only reply to comments on this image.")
        parent = parent if parent.parent_id is None else parent.parent  # one level of threading
    comment = Comment(variant=variant, author=actor, parent=parent, text=text)
    if clean is not None:
        comment.x, comment.y, comment.w, comment.h = clean
    comment.full_clean()
    comment.save()
    audit_append(
        workspace=workspace,
        actor=actor,
        action="approvals.comment.added",
        subject=comment,
        data={
            "variant": variant.pk,
            "sha256": variant.sha256,
            "parent": parent.pk if parent else None,
            "box": list(clean) if clean else None,
            "text": text,
        },
    )
    return comment


@transaction.atomic
def comment_resolve(*, actor, comment: Comment) -> Comment:
    comment = Comment.objects.select_for_update(of=("self",)).select_related("variant__workspace").get(pk=comment.pk)
    workspace = comment.variant.workspace
    if not user_roles(actor, workspace):
        raise RoleRequired(f"Only members of {workspace.name} can resolve comments.")
    if comment.resolved:
        return comment
    comment.resolved = True
    comment.save(update_fields=["resolved"])
    audit_append(
        workspace=workspace,
        actor=actor,
        action="approvals.comment.resolved",
        subject=comment,
        data={"variant": comment.variant_id},
    )
    return comment


# --- publishing ----------------------------------------------------------------------------------


def publication_check(*, actor, variant: Variant, target_format: CampaignFormat) -> Review:
    """Why ``variant`` cannot be published in ``target_format``, as a ``WorkflowError``; else the approved
    review it will be published under. Used by the view before it enqueues the render."""
    workspace = variant.workspace
    if not selectors.can_publish(actor, workspace):
        raise RoleRequired(f"Only a marketer, brand reviewer or admin can publish images in {workspace.name}.")
    if target_format.campaign_id != variant.draft.campaign_id:
        raise NotPublishable("Choose one of this campaign's formats.")
    if variant.status not in (VariantStatus.APPROVED, VariantStatus.PUBLISHED):
        raise NotPublishable("Only approved images can be published.")
    review = selectors.approved_review_for(variant=variant)
    if review is None or review.variant_sha256 != variant.sha256:
        raise NotPublishable("This image changed after it was approved, so it cannot be published.")
    return review


def publication_create(*, actor, variant: Variant, target_format: CampaignFormat) -> Publication:
    """Render ``variant`` at the format's exact pixels, store it and record the publication.

    Idempotent per (variant, format). The Pillow work runs before the transaction so no lock is held
    while an image is resized; the checks are repeated under the lock before anything is recorded."""
    existing = Publication.objects.filter(variant=variant, target_format=target_format).first()
    if existing is not None:
        return existing
    variant = Variant.objects.select_related("workspace", "draft").get(pk=variant.pk)
    publication_check(actor=actor, variant=variant, target_format=target_format)
    with variant.image.open("rb") as handle:
        source = handle.read()
    source_sha = hashlib.sha256(source).hexdigest()
    if source_sha != variant.sha256:
        raise NotPublishable("The stored image no longer matches the approved version, so it cannot be published.")

    from studio.lib.sizing import SizeError, make_rendition

    width, height = target_format.width, target_format.height
    try:
        rendition = make_rendition(source=source, width=width, height=height, focal=(0.5, 0.5), output_format="png")
    except SizeError as exc:
        raise NotPublishable(str(exc)) from exc
    except OSError as exc:  # Pillow cannot read the stored file
        raise NotPublishable("The stored image could not be read, so nothing was published.") from exc
    from PIL import Image

    with Image.open(io.BytesIO(rendition)) as image:
        if image.size != (width, height):
            raise NotPublishable(
                f"The rendition came out at {image.width}x{image.height} instead of "
                f"{width}x{height}; nothing was published."
            )
    sha = hashlib.sha256(rendition).hexdigest()
    name = f"published/{variant.workspace.slug}/{variant.pk}/{target_format.pk}-{width}x{height}-{sha[:16]}.png"
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(rendition))
    return _publication_record(
        actor=actor, variant=variant, target_format=target_format, name=name, sha=sha, source_sha=source_sha
    )


@transaction.atomic
def _publication_record(
    *, actor, variant: Variant, target_format: CampaignFormat, name: str, sha: str, source_sha: str
) -> Publication:
    variant = _lock_variant(variant.pk)
    existing = Publication.objects.filter(variant=variant, target_format=target_format).first()
    if existing is not None:
        return existing
    review = publication_check(actor=actor, variant=variant, target_format=target_format)
    publication = Publication(
        workspace=variant.workspace,
        variant=variant,
        review=review,
        target_format=target_format,
        width=target_format.width,
        height=target_format.height,
        file_format="png",
        sha256=sha,
        source_sha256=source_sha,
        published_by=actor,
        rendition_notes=[f"Cropped to {target_format.width}x{target_format.height} around the centre."],
    )
    publication.file.name = name
    try:
        with transaction.atomic():
            publication.save()
    except IntegrityError:
        return Publication.objects.get(variant=variant, target_format=target_format)
    if variant.status != VariantStatus.PUBLISHED:
        variant.status = VariantStatus.PUBLISHED
        variant.save(update_fields=["status"])
    url = default_storage.url(name)
    audit_append(
        workspace=variant.workspace,
        actor=actor,
        action="approvals.publication.created",
        subject=publication,
        data={
            "variant": variant.pk,
            "review": review.pk,
            "format": target_format.name,
            "size": f"{publication.width}x{publication.height}",
            "sha256": sha,
            "source_sha256": source_sha,
            "path": name,
            "url": url,
        },
    )
    return publication


# --- reminders -----------------------------------------------------------------------------------


def _stage_reminder_text(stage: ReviewStage, *, escalation: bool) -> str:
    review = stage.review
    title = review.variant.draft.title
    due = _when(stage.due_at)
    if escalation:
        return f"Escalated: {stage.get_kind_display().lower()} of {title} was due {due} and is still open."
    return f"Reminder: {stage.get_kind_display().lower()} of {title} was due {due}."


@transaction.atomic
def stage_remind(*, actor=None, stage: ReviewStage, now: datetime | None = None) -> bool:
    """Remind an overdue stage's assignees, once (``reminded_at``). Returns whether a reminder went out."""
    now = now or timezone.now()
    stage = (
        ReviewStage.objects.select_for_update(of=("self",))
        .select_related("review__workspace", "review__variant__draft")
        .get(pk=stage.pk)
    )
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
            url=_review_url(stage.review),
            email=True,
        )
    audit_append(
        workspace=stage.review.workspace,
        actor=actor,
        action="approvals.stage.reminded",
        subject=stage,
        data={"review": stage.review_id, "due_at": stage.due_at, "recipients": [u.pk for u in recipients]},
    )
    return True


@transaction.atomic
def stage_escalate(*, actor=None, stage: ReviewStage, now: datetime | None = None) -> bool:
    """After twice the SLA, tell the workspace admins (once, ``escalated_at``)."""
    now = now or timezone.now()
    stage = (
        ReviewStage.objects.select_for_update(of=("self",))
        .select_related("review__workspace", "review__variant__draft")
        .get(pk=stage.pk)
    )
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
            url=_review_url(stage.review),
            email=True,
        )
    audit_append(
        workspace=workspace,
        actor=actor,
        action="approvals.stage.escalated",
        subject=stage,
        data={"review": stage.review_id, "due_at": stage.due_at, "recipients": [u.pk for u in admins]},
    )
    return True


def error_message(exc: Exception) -> str:
    """Plain words for any refusal a view may show."""
    if isinstance(exc, WorkflowError):
        return exc.message
    if isinstance(exc, PermissionDenied):
        return str(exc) or "You are not allowed to do that."
    return "Something went wrong; nothing was changed."
