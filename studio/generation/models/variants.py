"""Variants: the images, immutable, each a node in its draft's version tree. Their status changes only
through ``studio.generation.lifecycle``."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from studio.core.models import Workspace
from studio.generation.models.campaigns import PromptDraft
from studio.generation.models.deployments import ProviderKind
from studio.generation.models.jobs import GenerationJob, Operation
from studio.safety.models import SafetyVerdict


class VariantStatus(models.TextChoices):
    SAFETY_PENDING = "safety_pending", "Safety check pending"
    READY = "ready", "Ready to submit"
    BLOCKED = "blocked", "Blocked by safety"
    IN_REVIEW = "in_review", "In review"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    PUBLISHED = "published", "Published"
    SUPERSEDED = "superseded", "Superseded"


class Variant(models.Model):
    """One image. Immutable content: an edit makes a new variant with this one as parent."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="variants")
    job = models.ForeignKey(GenerationJob, on_delete=models.PROTECT, related_name="variants")
    draft = models.ForeignKey(PromptDraft, on_delete=models.CASCADE, related_name="variants")
    index = models.PositiveSmallIntegerField(default=0, help_text="Position within the job's output")
    parents = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="children")
    operation = models.CharField(max_length=10, choices=Operation.choices, default=Operation.GENERATE)
    locale = models.CharField(max_length=20, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="variants")

    image = models.FileField(upload_to="variants/%Y/%m/")
    thumbnail = models.FileField(upload_to="thumbs/%Y/%m/", blank=True)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    format = models.CharField(max_length=8)
    # Where a rendition crops around (fractions of width and height); None = the centre.
    focal_x = models.FloatField(null=True, blank=True, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    focal_y = models.FloatField(null=True, blank=True, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    size_mismatch = models.BooleanField(default=False, help_text="Returned size differs from the plan")
    filter_results = models.JSONField(default=dict, blank=True, help_text="Provider per-image filter results")

    status = models.CharField(max_length=20, choices=VariantStatus.choices, default=VariantStatus.SAFETY_PENDING)
    safety_verdict = models.CharField(max_length=10, choices=SafetyVerdict.choices, default=SafetyVerdict.PENDING)
    safety_severity = models.PositiveSmallIntegerField(
        default=0, help_text="Highest severity (0-7) any screener reported for the image or its prompt: the risk"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "index"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=VariantStatus.values),
                name="variant_status_valid",
                violation_error_code="invalid_status",
            ),
            models.CheckConstraint(condition=Q(safety_verdict__in=SafetyVerdict.values), name="variant_verdict_valid"),
            models.CheckConstraint(condition=Q(width__gt=0, height__gt=0), name="variant_size_positive"),
            models.UniqueConstraint(
                fields=["job", "index"], name="variant_unique_job_index", violation_error_code="duplicate_variant"
            ),
        ]
        indexes = [models.Index(fields=["workspace", "status"])]

    def __str__(self) -> str:
        return f"Variant {self.pk} of {self.draft}"

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"

    # Where pages load the image from: the authorised views (members of the workspace only), never the
    # file's storage URL, which would be public. Use these instead of ``image.url`` / ``thumbnail.url``.
    @property
    def image_src(self) -> str:
        return reverse("studio:variant_image", args=[self.workspace.slug, self.pk])

    @property
    def thumbnail_src(self) -> str:
        """The thumbnail (or the full image when the variant has none)."""
        return reverse("studio:variant_thumbnail", args=[self.workspace.slug, self.pk])

    # Named states for templates and services, so nothing compares against status strings.
    @property
    def is_safety_pending(self) -> bool:
        return self.status == VariantStatus.SAFETY_PENDING

    @property
    def is_ready(self) -> bool:
        """Passed the safety check and may be submitted for review."""
        return self.status == VariantStatus.READY

    @property
    def is_blocked(self) -> bool:
        return self.status == VariantStatus.BLOCKED

    @property
    def is_localisable(self) -> bool:
        """An approved (or already published) master that localised versions may be made from."""
        return self.status in (VariantStatus.APPROVED, VariantStatus.PUBLISHED)

    @property
    def is_offline(self) -> bool:
        return self.job.deployment.provider == ProviderKind.OFFLINE
