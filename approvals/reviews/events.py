"""The review workflow's audit vocabulary: every event type it writes, with one builder per event.

Machine names and subject kinds are part of the hash chain and never change (they are what the events
were called before the vocabulary existed); labels and messages are presentation and may be reworded.
Each builder writes exactly the ``data`` the workflow has always written, so old and new events read
alike and the compliance log renders both as sentences. Services call these builders and nothing else
writes to the chain. ``ReviewsConfig.ready()`` imports this module so the types are registered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from approvals.reviews.event_subjects import COMMENT, DECISION, REVIEW, STAGE, STAGE_POLICY
from approvals.reviews.models import Comment, Decision, DecisionOutcome, Review, ReviewStage
from studio.core.audit import actor_label_for, audit_record
from studio.core.events import EventType, event_group, event_type
from studio.core.models import AuditEvent

event_group("approvals.review", "Reviews")
event_group("approvals.stage", "Review decisions")
event_group("approvals.decision", "Decisions undone or reopened")
event_group("approvals.comment", "Comments")
event_group("approvals.stage_policy", "Review stage policies")

REVIEW_SUBMITTED = event_type(
    "approvals.review.submitted",
    label="Submitted for review",
    message="{actor} submitted {subject} for review (stages: {stages})",
    subject_kind=REVIEW,
)
REVIEW_SUPERSEDED = event_type(
    "approvals.review.superseded",
    label="Review closed by a newer version",
    message="{actor} made a newer version, so {subject} was closed",
    subject_kind=REVIEW,
)
OVERRIDE_REQUESTED = event_type(
    "approvals.safety.override_requested",
    label="Safety override requested",
    message="{actor} asked compliance to lift the safety block ({subject}): {reason}",
    subject_kind=REVIEW,
)
STAGE_APPROVED = event_type(
    "approvals.stage.approved",
    label="Approved",
    message="{actor} approved the {stage} review of {subject}",
    subject_kind=DECISION,
)
STAGE_APPROVED_WITH_CHANGES = event_type(
    "approvals.stage.approved_with_changes",
    label="Approved with changes",
    message="{actor} approved the {stage} review of {subject} with changes: {note}",
    subject_kind=DECISION,
)
STAGE_CHANGES_REQUESTED = event_type(
    "approvals.stage.changes_requested",
    label="Changes requested",
    message="{actor} requested changes in the {stage} review of {subject}: {note}",
    subject_kind=DECISION,
)
STAGE_REJECTED = event_type(
    "approvals.stage.rejected",
    label="Rejected",
    message="{actor} rejected {subject} in the {stage} review: {note}",
    subject_kind=DECISION,
)
OVERRIDE_GRANTED = event_type(
    "approvals.safety.override_granted",
    label="Safety override granted",
    message="{actor} granted the safety override of {subject}",
    subject_kind=DECISION,
)
OVERRIDE_REFUSED = event_type(
    "approvals.safety.override_refused",
    label="Safety override refused",
    message="{actor} refused the safety override of {subject}: {note}",
    subject_kind=DECISION,
)
STAGE_REMINDED = event_type(
    "approvals.stage.reminded",
    label="Reviewers reminded",
    message="{actor} reminded the reviewers of {subject}, which was due {due_at}",
    subject_kind=STAGE,
)
STAGE_ESCALATED = event_type(
    "approvals.stage.escalated",
    label="Overdue review escalated",
    message="{actor} escalated {subject} to the workspace admins; it was due {due_at}",
    subject_kind=STAGE,
)
DECISION_REFUSED = event_type(
    "approvals.review.decision_refused",
    label="Decision refused",
    message="{actor} was refused a decision ({attempted}) in the {stage} review of {subject}: {reason}",
    subject_kind=REVIEW,
)
COMMENT_ADDED = event_type(
    "approvals.comment.added",
    label="Comment added",
    message="{actor} commented on variant {variant}: “{text}”",
    subject_kind=COMMENT,
)
COMMENT_RESOLVED = event_type(
    "approvals.comment.resolved",
    label="Comment resolved",
    message="{actor} resolved {subject} on variant {variant}",
    subject_kind=COMMENT,
)


# --- submission ----------------------------------------------------------------------------------


def review_submitted(
    *, review: Review, variant: Any, actor: Any, stages: Sequence[str], due_at: datetime | None
) -> AuditEvent:
    return audit_record(
        REVIEW_SUBMITTED,
        workspace=review.workspace,
        actor=actor,
        subject=review,
        data={
            "variant": variant.pk,
            "sha256": variant.sha256,
            "verdict": variant.safety_verdict,
            "stages": list(stages),
            "due_at": due_at,
            "regulated": review.workspace.is_regulated,
        },
    )


def review_superseded(*, review: Review, variant: Any, actor: Any) -> AuditEvent:
    return audit_record(
        REVIEW_SUPERSEDED,
        workspace=variant.workspace,
        actor=actor,
        subject=review,
        data={"variant": variant.pk, "sha256": review.variant_sha256, "variant_status": variant.status},
    )


def override_requested(*, review: Review, variant: Any, actor: Any, due_at: datetime | None) -> AuditEvent:
    return audit_record(
        OVERRIDE_REQUESTED,
        workspace=review.workspace,
        actor=actor,
        subject=review,
        data={"variant": variant.pk, "sha256": variant.sha256, "reason": review.override_reason, "due_at": due_at},
    )


# --- decisions -----------------------------------------------------------------------------------


def _decision_event(
    kind: EventType,
    *,
    decision: Decision,
    review: Review,
    variant: Any,
    stage: ReviewStage,
    actor: Any,
    comment_ids: Sequence[int],
    next_stage: ReviewStage | None,
) -> AuditEvent:
    return audit_record(
        kind,
        workspace=review.workspace,
        actor=actor,
        subject=decision,
        data={
            "review": review.pk,
            "variant": variant.pk,
            "stage": stage.kind,
            "outcome": decision.outcome,
            "note": decision.note,
            "sha256": review.variant_sha256,
            "comment_ids": list(comment_ids),
            "stage_status": stage.status,
            "review_status": review.status,
            "variant_status": variant.status,
            "next_stage": next_stage.kind if next_stage else None,
        },
    )


def stage_approved(**kwargs: Any) -> AuditEvent:
    """A reviewer approved a stage (``decision``, ``review``, ``variant``, ``stage``, ``actor``,
    ``comment_ids``, ``next_stage``; the same for every decision builder)."""
    return _decision_event(STAGE_APPROVED, **kwargs)


def stage_approved_with_changes(**kwargs: Any) -> AuditEvent:
    return _decision_event(STAGE_APPROVED_WITH_CHANGES, **kwargs)


def stage_changes_requested(**kwargs: Any) -> AuditEvent:
    return _decision_event(STAGE_CHANGES_REQUESTED, **kwargs)


def stage_rejected(**kwargs: Any) -> AuditEvent:
    return _decision_event(STAGE_REJECTED, **kwargs)


def override_granted(**kwargs: Any) -> AuditEvent:
    return _decision_event(OVERRIDE_GRANTED, **kwargs)


def override_refused(**kwargs: Any) -> AuditEvent:
    return _decision_event(OVERRIDE_REFUSED, **kwargs)


DecisionBuilder = Callable[..., AuditEvent]

DECISION_BUILDERS: dict[str, DecisionBuilder] = {
    DecisionOutcome.APPROVE: stage_approved,
    DecisionOutcome.APPROVE_WITH_CHANGES: stage_approved_with_changes,
    DecisionOutcome.REQUEST_CHANGES: stage_changes_requested,
    DecisionOutcome.REJECT: stage_rejected,
}


def decision_builder(*, outcome: str, is_override: bool, approving: bool) -> DecisionBuilder:
    """Which event a decision writes: an override's grant or refusal, else the outcome's own."""
    if is_override:
        return override_granted if approving else override_refused
    return DECISION_BUILDERS[outcome]


def decision_refused(
    *, review: Review, stage: ReviewStage, actor: Any, attempted: str, code: str, reason: str
) -> AuditEvent:
    """A decision the rules refused (role, separation of duties, self-approval, a stale image...): the
    trace that someone tried. Written in its own transaction after the refused one rolled back."""
    return audit_record(
        DECISION_REFUSED,
        workspace=review.workspace,
        actor=actor,
        subject=review,
        data={
            "review": review.pk,
            "variant": review.variant_id,
            "stage": stage.kind,
            "attempted": attempted,
            "outcome": "refused",
            "code": code,
            "reason": reason,
        },
    )


# --- reminders -----------------------------------------------------------------------------------


def stage_reminded(*, stage: ReviewStage, actor: Any, recipients: Sequence[Any]) -> AuditEvent:
    return audit_record(
        STAGE_REMINDED,
        workspace=stage.review.workspace,
        actor=actor,
        subject=stage,
        data={"review": stage.review_id, "due_at": stage.due_at, "recipients": [u.pk for u in recipients]},
    )


def stage_escalated(*, stage: ReviewStage, actor: Any, recipients: Sequence[Any]) -> AuditEvent:
    return audit_record(
        STAGE_ESCALATED,
        workspace=stage.review.workspace,
        actor=actor,
        subject=stage,
        data={"review": stage.review_id, "due_at": stage.due_at, "recipients": [u.pk for u in recipients]},
    )


# --- comments ------------------------------------------------------------------------------------


def comment_added(*, comment: Comment, variant: Any, actor: Any, box: Sequence[float] | None) -> AuditEvent:
    return audit_record(
        COMMENT_ADDED,
        workspace=variant.workspace,
        actor=actor,
        subject=comment,
        data={
            "variant": variant.pk,
            "sha256": variant.sha256,
            "parent": comment.parent_id,
            "box": list(box) if box else None,
            "text": comment.text,
        },
    )


def comment_resolved(*, comment: Comment, actor: Any) -> AuditEvent:
    return audit_record(
        COMMENT_RESOLVED,
        workspace=comment.variant.workspace,
        actor=actor,
        subject=comment,
        data={"variant": comment.variant_id},
    )


# --- stage policies (configured in the admin) -----------------------------------------------------------

STAGE_POLICY_CHANGED = event_type(
    "approvals.stage_policy.changed",
    label="Review stage policy changed",
    message="{actor} changed who reviews a stage ({subject})",
    subject_kind=STAGE_POLICY,
)


def stage_policy_changed(*, policy: Any, actor: Any, action: str, changes: dict, via: str) -> AuditEvent:
    """``action`` is added / changed / deleted; ``changes`` maps field -> {"before", "after"}."""
    return audit_record(
        STAGE_POLICY_CHANGED,
        workspace=policy.workspace,
        actor=actor,
        subject=policy,
        subject_id=str(policy.pk or ""),
        data={"action": action, "kind": policy.kind, "changes": changes, "via": via},
    )


# --- undo and reopen (issue 14) ---------------------------------------------------------------------

DECISION_UNDONE = event_type(
    "approvals.decision.undone",
    label="Decision undone",
    message="{actor} undid their decision ({outcome}) in the {stage} review of {subject} seconds after making it",
    subject_kind=REVIEW,
)
DECISION_REOPENED = event_type(
    "approvals.decision.reopened",
    label="Decision reopened",
    message="{actor} reopened the {stage} review of {subject} (the decision was {outcome} by {decided_by}): {reason}",
    subject_kind=REVIEW,
)


def decision_reverted(
    *, undo: bool, review: Review, stage: ReviewStage, decision: Decision, actor: Any, reason: str
) -> AuditEvent:
    """A decision taken back: by its maker within the undo window, or reopened later (by its maker or a
    workspace admin) before anything was published. The decision's content is kept here, since the row
    itself is removed so the stage can be decided again."""
    return audit_record(
        DECISION_UNDONE if undo else DECISION_REOPENED,
        workspace=review.workspace,
        actor=actor,
        subject=review,
        data={
            "review": review.pk,
            "variant": review.variant_id,
            "stage": stage.kind,
            "decision": decision.pk,
            "outcome": decision.outcome,
            "note": decision.note,
            "decided_by": actor_label_for(decision.reviewer),
            "decided_at": decision.created_at,
            "reason": reason or "no reason given",
        },
    )


# --- @mentions in comments (issue 14) ------------------------------------------------------------------

COMMENT_MENTIONED = event_type(
    "approvals.comment.mentioned",
    label="People mentioned in a comment",
    message="{actor} mentioned {mentioned} in {subject} on variant {variant}",
    subject_kind=COMMENT,
)


def comment_mentioned(*, comment: Comment, actor: Any, users: Sequence[Any]) -> AuditEvent:
    """Who was told about ``comment`` because it named them (members only; nobody else is recorded)."""
    return audit_record(
        COMMENT_MENTIONED,
        workspace=comment.variant.workspace,
        actor=actor,
        subject=comment,
        data={
            "variant": comment.variant_id,
            "mentioned": ", ".join(user.get_username() for user in users),
            "users": [user.pk for user in users],
        },
    )
