"""Approvals: reviews bound to one exact variant content, their stages and decisions, pinned comments
and per-workspace stage policies."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from studio.core.models import Workspace
from studio.generation.models import Variant
from studio.safety.models import SafetyVerdict


class ReviewStatus(models.TextChoices):
    OPEN = "open", "Open"
    APPROVED = "approved", "Approved"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    REJECTED = "rejected", "Rejected"
    SUPERSEDED = "superseded", "Superseded by a newer version"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Review(models.Model):
    """A review of one exact variant content (bound to its sha256)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="reviews")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="reviews")
    variant_sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=20, choices=ReviewStatus.choices, default=ReviewStatus.OPEN)
    safety_verdict = models.CharField(max_length=10, choices=SafetyVerdict.choices)
    is_override = models.BooleanField(default=False, help_text="Compliance override of a safety block")
    override_reason = models.TextField(blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(auto_now_add=True, db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["variant"],
                condition=Q(status="open"),
                name="review_one_open_per_variant",
                violation_error_code="already_in_review",
            ),
            models.CheckConstraint(condition=Q(status__in=ReviewStatus.values), name="review_status_valid"),
        ]
        indexes = [models.Index(fields=["workspace", "status", "submitted_at"])]
        permissions = [
            ("decide_brand_stage", "Can decide brand review stages"),
            ("decide_compliance_stage", "Can decide compliance review stages"),
            ("override_safety_block", "Can override a safety block"),
            ("export_audit", "Can export the audit log"),
        ]

    def __str__(self) -> str:
        return f"Review {self.pk} of variant {self.variant_id}"

    # Templates ask these instead of comparing status strings.
    @property
    def is_open(self) -> bool:
        return self.status == ReviewStatus.OPEN

    @property
    def is_superseded(self) -> bool:
        return self.status == ReviewStatus.SUPERSEDED

    @property
    def bulk_approvable(self) -> bool:
        """Only images the safety check allowed outright may be approved from the queue in bulk."""
        return self.safety_verdict == SafetyVerdict.ALLOW


class StageKind(models.TextChoices):
    BRAND = "brand", "Brand review"
    COMPLIANCE = "compliance", "Compliance review"


class StageStatus(models.TextChoices):
    WAITING = "waiting", "Waiting for earlier stage"
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


class ApprovalRule(models.TextChoices):
    ANY = "any", "Any one approver"
    ALL = "all", "All assignees"
    MAJORITY = "majority", "Majority of assignees"


class ReviewStage(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="stages")
    kind = models.CharField(max_length=12, choices=StageKind.choices)
    order = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=20, choices=StageStatus.choices, default=StageStatus.WAITING)
    rule = models.CharField(max_length=10, choices=ApprovalRule.choices, default=ApprovalRule.ANY)
    assignees = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="review_stages")
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["review", "order"]
        constraints = [
            models.UniqueConstraint(fields=["review", "order"], name="stage_unique_order"),
            models.UniqueConstraint(fields=["review", "kind"], name="stage_unique_kind"),
            models.CheckConstraint(condition=Q(status__in=StageStatus.values), name="stage_status_valid"),
            models.CheckConstraint(condition=Q(kind__in=StageKind.values), name="stage_kind_valid"),
        ]
        indexes = [
            # The review queue reads pending stages soonest due first; pending stages are a small slice of
            # all stages ever created, so a partial index keeps the queue fast however long the history.
            models.Index(fields=["due_at", "id"], condition=Q(status="pending"), name="stage_pending_due"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of review {self.review_id}"

    @property
    def is_pending(self) -> bool:
        return self.status == StageStatus.PENDING

    @property
    def needs_several(self) -> bool:
        """Whether the stage's rule asks for more than one approver (so the page names the rule)."""
        return self.rule != ApprovalRule.ANY


class DecisionOutcome(models.TextChoices):
    APPROVE = "approve", "Approve"
    APPROVE_WITH_CHANGES = "approve_with_changes", "Approve with changes"
    REQUEST_CHANGES = "request_changes", "Request changes"
    REJECT = "reject", "Reject"


class Decision(models.Model):
    stage = models.ForeignKey(ReviewStage, on_delete=models.CASCADE, related_name="decisions")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="decisions")
    outcome = models.CharField(max_length=24, choices=DecisionOutcome.choices)
    note = models.TextField(blank=True)
    variant_sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["stage", "reviewer"], name="decision_one_per_reviewer", violation_error_code="already_decided"
            ),
            models.CheckConstraint(condition=Q(outcome__in=DecisionOutcome.values), name="decision_outcome_valid"),
            models.CheckConstraint(
                condition=Q(outcome=DecisionOutcome.APPROVE) | ~Q(note=""),
                name="decision_note_required",
                violation_error_code="note_required",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} by {self.reviewer}"


class Comment(models.Model):
    """A region-pinned comment on one exact variant (box in 0..1 image coordinates)."""

    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies")
    text = models.TextField(max_length=4000)
    x = models.FloatField(null=True, blank=True)
    y = models.FloatField(null=True, blank=True)
    w = models.FloatField(null=True, blank=True)
    h = models.FloatField(null=True, blank=True)
    resolved = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(x__isnull=True)
                | Q(x__gte=0, x__lte=1, y__gte=0, y__lte=1, w__gt=0, w__lte=1, h__gt=0, h__lte=1),
                name="comment_box_in_image",
            ),
        ]

    def __str__(self) -> str:
        return f"Comment {self.pk} on variant {self.variant_id}"


class StagePolicy(models.Model):
    """Per-workspace settings for one kind of review stage: who is assigned and how many must approve.

    Without a row the defaults apply: rule "any", assignees = every member holding the stage's role."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="stage_policies")
    kind = models.CharField(max_length=12, choices=StageKind.choices)
    rule = models.CharField(max_length=10, choices=ApprovalRule.choices, default=ApprovalRule.ANY)
    assignees = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="+",
        help_text="Leave empty to assign everyone holding the stage's role.",
    )

    class Meta:
        ordering = ["workspace", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "kind"], name="stage_policy_unique_kind", violation_error_code="duplicate_policy"
            ),
            models.CheckConstraint(condition=Q(kind__in=StageKind.values), name="stage_policy_kind_valid"),
            models.CheckConstraint(condition=Q(rule__in=ApprovalRule.values), name="stage_policy_rule_valid"),
        ]
        verbose_name_plural = "stage policies"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} policy of {self.workspace}"
