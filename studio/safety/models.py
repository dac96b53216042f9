"""Safety: what each screener said about a prompt or an image, and the editable rule packs.

Assessments refer to jobs and variants by lazy model reference ("studio.Variant"): the safety layer never
imports the studio, the studio calls down into it.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from studio.core.models import Sector, Workspace


class SafetyVerdict(models.TextChoices):
    PENDING = "pending", "Pending"
    ALLOW = "allow", "Allow: brand review"
    REVIEW = "review", "Review: brand + compliance"
    BLOCK = "block", "Block"


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
    # The provider blocked without saying whether the prompt or the image (no ``moderation_details``).
    PROVIDER_UNKNOWN = "provider_unknown", "Provider filter (stage not reported)"


class AssessmentStatus(models.TextChoices):
    COMPLETE = "complete", "Complete"
    ERROR = "error", "Screener unavailable"
    SKIPPED_FAIL_OPEN = "fail_open", "Skipped (workspace fails open)"


class SafetyAssessment(models.Model):
    """What one screener said about one prompt or image, and the verdict it implies."""

    audit_subject_kind = "approvals.safetyassessment"  # its label before the move; stored in audit events

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="safety_assessments")
    job = models.ForeignKey(
        "studio.GenerationJob", null=True, blank=True, on_delete=models.CASCADE, related_name="assessments"
    )
    variant = models.ForeignKey(
        "studio.Variant", null=True, blank=True, on_delete=models.CASCADE, related_name="assessments"
    )
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
        db_table = "approvals_safetyassessment"  # kept from before the move between apps
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

    audit_subject_kind = "approvals.safetyrule"  # its label before the move; stored in audit events

    sector = models.CharField(max_length=20, choices=Sector.choices, blank=True)
    category = models.CharField(max_length=60)
    pattern = models.CharField(max_length=300, help_text="Phrase (whole words) or regex if is_regex")
    is_regex = models.BooleanField(default=False)
    verdict = models.CharField(max_length=10, choices=SafetyVerdict.choices, default=SafetyVerdict.REVIEW)
    advice = models.CharField(max_length=300, blank=True, help_text="What the marketer should change")
    active = models.BooleanField(default=True)

    class Meta:
        db_table = "approvals_safetyrule"  # kept from before the move between apps
        ordering = ["sector", "category", "pattern"]
        constraints = [
            models.UniqueConstraint(fields=["sector", "category", "pattern"], name="safety_rule_unique"),
            models.CheckConstraint(condition=~Q(verdict=SafetyVerdict.PENDING), name="safety_rule_verdict_final"),
        ]

    def __str__(self) -> str:
        return f"{self.sector or 'all'} · {self.category}: {self.pattern}"
