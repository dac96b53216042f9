"""Publishing: renditions of approved variants at a format's exact pixels, written to storage."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from approvals.publishing.destinations import Destination, DestinationFileField
from approvals.reviews.models import Review
from studio.core.models import Workspace
from studio.generation.models import CampaignFormat, Variant

__all__ = ["Destination", "Publication", "PublicationStatus"]


class PublicationStatus(models.TextChoices):
    PUBLISHED = "published", "Published"
    FAILED = "failed", "Failed"
    RETRACTED = "retracted", "Retracted"
    PUBLISHING = "publishing", "Publishing…"  # a retry of a failed publication is under way


class Publication(models.Model):
    """A rendition of an approved variant at a format's exact pixels, written to storage."""

    audit_subject_kind = "approvals.publication"  # its label before the move; stored in audit events

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="publications")
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="publications")
    review = models.ForeignKey(Review, on_delete=models.PROTECT, related_name="publications")
    target_format = models.ForeignKey(CampaignFormat, null=True, on_delete=models.SET_NULL, related_name="+")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    # Where the rendition was written: a campaign's destination, or the studio's own storage (null).
    destination = models.ForeignKey(
        Destination, null=True, blank=True, on_delete=models.PROTECT, related_name="publications"
    )
    # The object's key in its destination's storage (``file.storage`` is the destination's).
    file = DestinationFileField(upload_to="published/%Y/%m/", max_length=500)
    file_format = models.CharField(max_length=8, default="png")
    sha256 = models.CharField(max_length=64)
    source_sha256 = models.CharField(max_length=64)
    rendition_notes = models.JSONField(default=list, blank=True)
    # Content Credentials: what the rendition's C2PA manifest says (summary for the page and the audit pack).
    provenance = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=PublicationStatus.choices, default=PublicationStatus.PUBLISHED)
    # The public address at publish time (the destination's URL template, or its storage's URL).
    url = models.CharField(max_length=1000, blank=True, default="")
    # Why the last attempt failed, in words a marketer understands (status "failed"); cleared on success.
    failure_message = models.CharField(max_length=500, blank=True, default="")
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    retracted_at = models.DateTimeField(null=True, blank=True)
    retracted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    retraction_reason = models.TextField(blank=True, default="")
    # Set when the retract also withdrew the approval: publishing again then needs a new decision.
    approval_withdrawn = models.BooleanField(default=False)

    class Meta:
        db_table = "approvals_publication"  # kept from before the move between apps
        ordering = ["-created_at"]
        # The API lists a workspace's publications newest first by id (cursor pagination).
        # The API's list reads a page's ids from here first; on PostgreSQL a covering twin carrying the
        # filter columns serves filtered pages (migration 0005, raw SQL: SQLite has no INCLUDE).
        indexes = [models.Index(fields=["workspace", "-id"], name="publication_ws_recent")]
        constraints = [
            models.CheckConstraint(condition=Q(width__gt=0, height__gt=0), name="publication_size_positive"),
            # One live publication per format; retracted ones stay as history beside a re-publication.
            models.UniqueConstraint(
                fields=["variant", "target_format"],
                condition=~Q(status="retracted"),
                name="publication_unique_live_per_format",
                violation_error_code="already_published",
            ),
        ]

    def __str__(self) -> str:
        return f"Publication {self.pk} ({self.width}x{self.height})"
