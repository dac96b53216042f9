"""Approvals domain: safety assessments, reviews with stages and decisions, comments, the audit
hash chain, publications and in-app notifications."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from studio.models import CampaignFormat, GenerationJob, SafetyVerdict, Sector, Variant, Workspace


class Screener(models.TextChoices):
    LOCAL = "local", "Local rules"
    AZURE = "azure", "Azure AI Content Safety"
    OPENAI = "openai", "OpenAI moderation"
    PROVIDER = "provider", "Image provider's filter"


class SafetyStage(models.TextChoices):
    PROMPT = "prompt", "Prompt pre-screen"
    IMAGE = "image", "Image post-screen"
    PROVIDER_PROMPT = "provider_prompt", "Provider prompt filter"
    PROVIDER_OUTPUT = "provider_output", "Provider output filter"


class AssessmentStatus(models.TextChoices):
    COMPLETE = "complete", "Complete"
    ERROR = "error", "Screener unavailable"
    SKIPPED_FAIL_OPEN = "fail_open", "Skipped (workspace fails open)"


class SafetyAssessment(models.Model):
    """What one screener said about one prompt or image, and the verdict it implies."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="safety_assessments")
    job = models.ForeignKey(GenerationJob, null=True, blank=True, on_delete=models.CASCADE, related_name="assessments")
    variant = models.ForeignKey(Variant, null=True, blank=True, on_delete=models.CASCADE, related_name="assessments")
    stage = models.CharField(max_length=20, choices=SafetyStage.choices)
    screener = models.CharField(max_length=10, choices=Screener.choices)
    status = models.CharField(max_length=10, choices=AssessmentStatus.choices, default=AssessmentStatus.COMPLETE)
    verdict = models.CharField(max_length=10, choices=SafetyVerdict.choices)
    categories = models.JSONField(default=list, blank=True, help_text='[{"category", "severity", "verdict"}]')
    matches = models.JSONField(default=list, blank=True, help_text="Blocklist / rule hits with spans")
    decided_by = models.CharField(max_length=200, blank=True, help_text="The rule or category that decided")
    explanation = models.TextField(blank=True)
    screened_text = models.TextField(blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(stage__in=SafetyStage.values), name="assessment_stage_valid"),
            models.CheckConstraint(condition=Q(screener__in=Screener.values), name="assessment_screener_valid"),
            models.CheckConstraint(condition=Q(verdict__in=SafetyVerdict.values), name="assessment_verdict_valid"),
            models.CheckConstraint(
                condition=Q(job__isnull=False) | Q(variant__isnull=False), name="assessment_has_subject"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_screener_display()} · {self.get_stage_display()} · {self.verdict}"


class SafetyRule(models.Model):
    """Editable rule-pack entry for regulated claims. ``sector`` blank = applies everywhere."""

    sector = models.CharField(max_length=20, choices=Sector.choices, blank=True)
    category = models.CharField(max_length=60)
    pattern = models.CharField(max_length=300, help_text="Phrase (whole words) or regex if is_regex")
    is_regex = models.BooleanField(default=False)
    verdict = models.CharField(max_length=10, choices=SafetyVerdict.choices, default=SafetyVerdict.REVIEW)
    advice = models.CharField(max_length=300, blank=True, help_text="What the marketer should change")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["sector", "category", "pattern"]
        constraints = [
            models.UniqueConstraint(fields=["sector", "category", "pattern"], name="safety_rule_unique"),
            models.CheckConstraint(condition=~Q(verdict=SafetyVerdict.PENDING), name="safety_rule_verdict_final"),
        ]

    def __str__(self) -> str:
        return f"{self.sector or 'all'} · {self.category}: {self.pattern}"


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


class AuditChain(models.Model):
    """The head of one workspace's hash chain. Appends lock this row, so the chain never forks."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="audit_chain")
    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"Audit chain of {self.workspace} at {self.last_seq}"


class AuditEvent(models.Model):
    """Append-only. Each event stores the previous event's hash and the hash of its own canonical
    content; PostgreSQL refuses UPDATE/DELETE on this table (trigger installed by migration)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="audit_events")
    seq = models.PositiveBigIntegerField()
    action = models.CharField(max_length=80, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    actor_label = models.CharField(max_length=200)
    subject_type = models.CharField(max_length=60)
    subject_id = models.CharField(max_length=64)
    data = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    created_at = models.DateTimeField(db_index=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["workspace", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "seq"], name="audit_unique_seq"),
        ]
        indexes = [models.Index(fields=["workspace", "subject_type", "subject_id"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"


class PublicationStatus(models.TextChoices):
    PUBLISHED = "published", "Published"
    FAILED = "failed", "Failed"


class Publication(models.Model):
    """A rendition of an approved variant at a format's exact pixels, written to storage."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="publications")
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="publications")
    review = models.ForeignKey(Review, on_delete=models.PROTECT, related_name="publications")
    target_format = models.ForeignKey(CampaignFormat, null=True, on_delete=models.SET_NULL, related_name="+")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    file = models.FileField(upload_to="published/%Y/%m/")
    file_format = models.CharField(max_length=8, default="png")
    sha256 = models.CharField(max_length=64)
    source_sha256 = models.CharField(max_length=64)
    rendition_notes = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=PublicationStatus.choices, default=PublicationStatus.PUBLISHED)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(width__gt=0, height__gt=0), name="publication_size_positive"),
            models.UniqueConstraint(
                fields=["variant", "target_format"],
                name="publication_unique_per_format",
                violation_error_code="already_published",
            ),
        ]

    def __str__(self) -> str:
        return f"Publication {self.pk} ({self.width}x{self.height})"


class Notification(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=40)
    text = models.CharField(max_length=400)
    url = models.CharField(max_length=300, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.text


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
