"""Approval workflow writes: submit, decide, supersede, override, comments, reminders, notifications.

Every service is keyword-only, takes ``actor``, runs in one transaction, locks the rows it changes in a
fixed order (variant -> review -> stage) so concurrent callers queue instead of deadlocking, checks the
transition, and writes exactly one audit event (a builder in ``approvals.reviews.events``) in the same
transaction. Variant status changes go through ``studio.generation.lifecycle.variant_transition``.
Side effects (emails, tasks) are enqueued with ``transaction.on_commit`` so nothing is sent for a
change that rolled back. Refusals are ``approvals.reviews.errors`` (``studio.core.errors.Refusal``).
"""

from approvals.reviews.errors import (
    AlreadyDecided,
    AlreadyInReview,
    InvalidComment,
    InvalidDecision,
    NotSubmittable,
    StageNotReady,
    StaleReview,
    WorkflowError,
)
from approvals.reviews.services._common import (
    APPROVING,
    MAX_COMMENT_CHARS,
    MAX_NOTE_CHARS,
    STATUS_WORDS,
    lock_review,
    lock_variant,
)
from approvals.reviews.services.comments import comment_add, comment_resolve
from approvals.reviews.services.decisions import (
    decision_apply,
    decision_attempt,
    decision_check,
    decision_notify,
    decision_refusal_record,
    review_decide,
)
from approvals.reviews.services.notifications import notification_send, notifications_mark_read, stage_notify
from approvals.reviews.services.reopen import UNDO_SECONDS, decision_reopen, decision_reopenable, decision_undo
from approvals.reviews.services.sla import stage_escalate, stage_remind
from approvals.reviews.services.stage_policies import stage_policy_change_record
from approvals.reviews.services.submission import reviews_supersede, variant_request_override, variant_submit

__all__ = [
    "stage_policy_change_record",
    "APPROVING",
    "MAX_COMMENT_CHARS",
    "MAX_NOTE_CHARS",
    "STATUS_WORDS",
    "AlreadyDecided",
    "AlreadyInReview",
    "InvalidComment",
    "InvalidDecision",
    "NotSubmittable",
    "StageNotReady",
    "StaleReview",
    "WorkflowError",
    "comment_add",
    "comment_resolve",
    "decision_apply",
    "decision_attempt",
    "decision_check",
    "decision_notify",
    "decision_refusal_record",
    "decision_reopen",
    "decision_reopenable",
    "decision_undo",
    "UNDO_SECONDS",
    "lock_review",
    "lock_variant",
    "notification_send",
    "notifications_mark_read",
    "review_decide",
    "reviews_supersede",
    "stage_escalate",
    "stage_notify",
    "stage_remind",
    "variant_request_override",
    "variant_submit",
]
