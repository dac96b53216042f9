"""Opening and closing reviews: submit a version, ask for a safety override, supersede an old version.

Each service locks the variant first, checks, writes, moves the variant through its one lifecycle
service (``variant_transition``) and records exactly one audit event; the review's own event records
the status change, so the chain reads as it always has.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from approvals.reviews import events, selectors
from approvals.reviews.errors import AlreadyInReview, InvalidDecision, NotSubmittable
from approvals.reviews.models import (
    ApprovalRule,
    Review,
    ReviewStage,
    ReviewStatus,
    StageKind,
    StagePolicy,
    StageStatus,
)
from approvals.reviews.services._common import (
    MAX_NOTE_CHARS,
    STATUS_WORDS,
    lock_review,
    lock_variant,
    sla_due,
    when,
)
from approvals.reviews.services.notifications import stage_notify
from studio.core.models import Role, Workspace
from studio.core.permissions import RoleRequired, can_submit, members_with_role
from studio.generation.lifecycle import variant_transition
from studio.generation.models import Variant, VariantStatus
from studio.safety.models import SafetyVerdict


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


def submit_choices(*, workspace: Workspace, variant: Variant, actor) -> tuple[str, list[int]]:
    """The brand stage's rule and the reviewers a submitter may name for ``variant`` (never its makers)."""
    makers = selectors.lineage_creator_ids(variant=variant) | {actor.pk}
    return _stage_assignee_ids(workspace, StageKind.BRAND, makers)


def _chosen_reviewers(rule: str, eligible: list[int], chosen: Sequence[int] | None) -> list[int]:
    """The submitter's pick of reviewers, within the stage policy: only from the eligible people, and
    only when any one approver suffices (an "all"/"majority" policy names its reviewers itself)."""
    picked = sorted({int(pk) for pk in chosen or ()})
    if not picked:
        return eligible
    if rule != ApprovalRule.ANY:
        raise NotSubmittable("This workspace's review policy names who reviews; submit without choosing reviewers.")
    if not set(picked) <= set(eligible):
        raise NotSubmittable("Choose reviewers from the people who may review this image.")
    return picked


def _due_check(workspace: Workspace, now: datetime, due_at: datetime | None) -> datetime:
    latest = sla_due(workspace, now)
    if due_at is None:
        return latest
    if due_at <= now or due_at > latest:
        raise NotSubmittable(
            f"Choose a due date between now and {when(latest)} (the review time this workspace allows)."
        )
    return due_at


def _stage_create(
    *,
    review: Review,
    kind: str,
    order: int,
    pending: bool,
    now: datetime,
    exclude: set[int],
    due_at: datetime | None = None,
    reviewer_ids: Sequence[int] | None = None,
) -> ReviewStage:
    rule, assignee_ids = _stage_assignee_ids(review.workspace, kind, exclude)
    if reviewer_ids:
        assignee_ids = _chosen_reviewers(rule, assignee_ids, reviewer_ids)
    stage = ReviewStage(
        review=review,
        kind=kind,
        order=order,
        rule=rule,
        status=StageStatus.PENDING if pending else StageStatus.WAITING,
        due_at=(due_at or sla_due(review.workspace, now)) if pending else None,
    )
    stage.full_clean(exclude=["review"])
    stage.save()
    stage.assignees.set(assignee_ids)
    return stage


def _review_open(*, actor, variant: Variant, **extra) -> Review:
    """Create the review row; the partial unique index on open reviews settles a race between two
    submitters as ``AlreadyInReview`` for the loser."""
    try:
        with transaction.atomic():
            return Review.objects.create(
                workspace=variant.workspace,
                variant=variant,
                variant_sha256=variant.sha256,
                safety_verdict=variant.safety_verdict,
                submitted_by=actor,
                **extra,
            )
    except IntegrityError as exc:
        raise AlreadyInReview("This version is already in review.") from exc


@transaction.atomic
def variant_submit(
    *, actor, variant: Variant, due_at: datetime | None = None, reviewer_ids: Sequence[int] | None = None
) -> Review:
    """Put one exact version (its sha256) into review: brand always, then compliance when the safety
    verdict says "review" or the workspace is regulated. The submitter may set an earlier due date than
    the workspace's review time and name the brand reviewers (within the stage policy)."""
    variant = lock_variant(variant.pk)
    workspace = variant.workspace
    if not can_submit(actor, workspace):
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
    due = _due_check(workspace, now, due_at)
    review = _review_open(actor=actor, variant=variant)
    makers = selectors.lineage_creator_ids(variant=variant) | {actor.pk}
    brand = _stage_create(
        review=review,
        kind=StageKind.BRAND,
        order=1,
        pending=True,
        now=now,
        exclude=makers,
        due_at=due,
        reviewer_ids=reviewer_ids,
    )
    kinds = [StageKind.BRAND]
    if needs_compliance:
        _stage_create(review=review, kind=StageKind.COMPLIANCE, order=2, pending=False, now=now, exclude=makers)
        kinds.append(StageKind.COMPLIANCE)
    variant_transition(
        actor=actor,
        variant=variant,
        to=VariantStatus.IN_REVIEW,
        event=lambda v: events.review_submitted(
            review=review, variant=v, actor=actor, stages=kinds, due_at=brand.due_at
        ),
    )
    stage_notify(
        stage=brand, review=review, text=f"Brand review requested: {variant.draft.title} (variant #{variant.pk})."
    )
    return review


@transaction.atomic
def reviews_supersede(*, actor, variant: Variant) -> int:
    """Close the open review of ``variant`` because a newer version was made from it (the studio sends
    ``variant_superseded`` for the parent; ``ReviewsConfig.ready()`` connects it here). Its stages are
    cancelled, so a stale version can never be approved or published. Returns how many reviews were
    closed (0 or 1)."""
    variant = lock_variant(variant.pk)
    open_ids = list(
        Review.objects.filter(variant=variant, status=ReviewStatus.OPEN).order_by("pk").values_list("pk", flat=True)
    )
    now = timezone.now()
    for pk in open_ids:
        review = lock_review(pk)
        review.status, review.closed_at = ReviewStatus.SUPERSEDED, now
        review.save(update_fields=["status", "closed_at"])
        review.stages.filter(status__in=[StageStatus.WAITING, StageStatus.PENDING]).update(status=StageStatus.CANCELLED)
        if variant.status == VariantStatus.IN_REVIEW:
            variant_transition(
                actor=actor,
                variant=variant,
                to=VariantStatus.SUPERSEDED,
                event=lambda v, review=review: events.review_superseded(review=review, variant=v, actor=actor),
            )
        else:
            events.review_superseded(review=review, variant=variant, actor=actor)
    return len(open_ids)


@transaction.atomic
def variant_request_override(*, actor, variant: Variant, reason: str) -> Review:
    """Ask compliance to lift a safety block, with a reason. Only compliance auditors can decide it."""
    reason = (reason or "").strip()
    variant = lock_variant(variant.pk)
    workspace = variant.workspace
    if not can_submit(actor, workspace):
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
    review = _review_open(actor=actor, variant=variant, is_override=True, override_reason=reason)
    makers = selectors.lineage_creator_ids(variant=variant) | {actor.pk}
    stage = _stage_create(review=review, kind=StageKind.COMPLIANCE, order=1, pending=True, now=now, exclude=makers)
    events.override_requested(review=review, variant=variant, actor=actor, due_at=stage.due_at)
    stage_notify(
        stage=stage, review=review, text=f"Safety override requested: {variant.draft.title} (variant #{variant.pk})."
    )
    return review
