"""Publishing: renditions of approved variants at a format's exact pixels, written to storage."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from approvals.reviews.models import Review
from studio.core.models import Workspace
from studio.generation.models import CampaignFormat, Variant


class PublicationStatus(models.TextChoices):
    PUBLISHED = "published", "Published"
    FAILED = "failed", "Failed"


class Publication(models.Model):
    """A rendition of an approved variant at a format's exact pixels, written to storage."""

    audit_subject_kind = "approvals.publication"  # its label before the move; stored in audit events

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
    # Content Credentials: what the rendition's C2PA manifest says (summary for the page and the audit pack).
    provenance = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=PublicationStatus.choices, default=PublicationStatus.PUBLISHED)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "approvals_publication"  # kept from before the move between apps
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
