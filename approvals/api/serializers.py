"""What the API answers: read-only representations of the studio's objects. Related people appear by
username; related objects by id. Money is a decimal string ("49.650000"). Views select and prefetch
everything named here, so a page costs the same number of queries at 5 rows or 200."""

from __future__ import annotations

from django.db.models import F
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from approvals.publishing.models import Publication
from approvals.reviews.models import Decision, Review, ReviewStage
from studio.generation.models import (
    Campaign,
    CampaignFormat,
    Deployment,
    DraftVersion,
    GenerationJob,
    PromptDraft,
    Variant,
)
from studio.runs.models import ProductionRun, RunCell

Username = serializers.SlugRelatedField


def _username(source: str) -> serializers.CharField:
    return serializers.CharField(source=f"{source}.username", read_only=True)


class FormatSerializer(serializers.ModelSerializer):
    class Meta:
        model = CampaignFormat
        fields = ["id", "name", "channel", "width", "height"]


class CampaignSerializer(serializers.ModelSerializer):
    formats = FormatSerializer(many=True, read_only=True)
    remaining = serializers.DecimalField(max_digits=17, decimal_places=6, read_only=True)

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "slug",
            "locales",
            "budget",
            "reserved_cost",
            "spent_cost",
            "remaining",
            "budget_alert_percent",
            "formats",
            "created_at",
        ]


class DeploymentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Deployment
        fields = ["id", "name", "provider", "model", "is_default"]


class DraftSerializer(serializers.ModelSerializer):
    created_by = _username("created_by")

    class Meta:
        model = PromptDraft
        fields = ["id", "campaign", "title", "created_by", "created_at", "updated_at"]


class DraftVersionSerializer(serializers.ModelSerializer):
    created_by = _username("created_by")

    class Meta:
        model = DraftVersion
        fields = ["id", "draft", "number", "text", "variables", "locale_copy", "created_by", "created_at"]


class JobSerializer(serializers.ModelSerializer):
    created_by = _username("created_by")
    draft = serializers.IntegerField(source="draft_version.draft_id", read_only=True, allow_null=True)
    draft_version = serializers.IntegerField(source="draft_version.number", read_only=True, allow_null=True)
    variants = serializers.SerializerMethodField()

    class Meta:
        model = GenerationJob
        fields = [
            "id",
            "campaign",
            "draft",
            "draft_version",
            "deployment",
            "target_format",
            "operation",
            "status",
            "progress",
            "n",
            "locale",
            "target_width",
            "target_height",
            "planned_width",
            "planned_height",
            "estimated_cost",
            "reserved_cost",
            "actual_cost",
            "error_code",
            "error_message",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "variants",
        ]

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_variants(self, job: GenerationJob) -> list[int]:
        return [v.pk for v in job.variants.all()]


class VariantSerializer(serializers.ModelSerializer):
    created_by = _username("created_by")
    campaign = serializers.IntegerField(source="draft.campaign_id", read_only=True)
    image_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = Variant
        fields = [
            "id",
            "campaign",
            "draft",
            "job",
            "index",
            "operation",
            "locale",
            "status",
            "safety_verdict",
            "width",
            "height",
            "format",
            "sha256",
            "created_by",
            "created_at",
            "image_url",
            "thumbnail_url",
        ]

    @extend_schema_field(OpenApiTypes.STR)  # a path on this server: a URI reference, not an absolute URI
    def get_image_url(self, variant: Variant) -> str:
        return reverse("api:variant_image", args=[variant.pk])

    @extend_schema_field(OpenApiTypes.STR)  # a path on this server: a URI reference, not an absolute URI
    def get_thumbnail_url(self, variant: Variant) -> str:
        return reverse("api:variant_thumbnail", args=[variant.pk])


class DecisionSerializer(serializers.ModelSerializer):
    reviewer = _username("reviewer")

    class Meta:
        model = Decision
        fields = ["id", "stage", "reviewer", "outcome", "note", "variant_sha256", "created_at"]


class StageSerializer(serializers.ModelSerializer):
    decisions = DecisionSerializer(many=True, read_only=True)

    class Meta:
        model = ReviewStage
        fields = ["id", "kind", "order", "status", "rule", "due_at", "decided_at", "decisions"]


class ReviewSerializer(serializers.ModelSerializer):
    submitted_by = _username("submitted_by")
    stages = StageSerializer(many=True, read_only=True)

    class Meta:
        model = Review
        fields = [
            "id",
            "variant",
            "variant_sha256",
            "status",
            "safety_verdict",
            "is_override",
            "submitted_by",
            "submitted_at",
            "closed_at",
            "stages",
        ]


class PublicationSerializer(serializers.ModelSerializer):
    published_by = _username("published_by")
    campaign = serializers.IntegerField(source="variant.draft.campaign_id", read_only=True)
    locale = serializers.CharField(source="variant.locale", read_only=True)
    format_name = serializers.CharField(source="target_format.name", read_only=True, allow_null=True, default=None)
    file_url = serializers.SerializerMethodField()

    class Meta:
        model = Publication
        fields = [
            "id",
            "variant",
            "review",
            "campaign",
            "target_format",
            "format_name",
            "locale",
            "width",
            "height",
            "file_format",
            "sha256",
            "source_sha256",
            "status",
            "url",
            "failure_message",
            "published_by",
            "created_at",
            "retracted_at",
            "retraction_reason",
            "file_url",
        ]

    @extend_schema_field(OpenApiTypes.STR)  # a path on this server: a URI reference, not an absolute URI
    def get_file_url(self, publication: Publication) -> str:
        return reverse("api:publication_file", args=[publication.pk])

    def to_representation(self, p: Publication) -> dict:
        """The same fields as declared (they make the schema), built directly: DRF's field-by-field path
        costs more than the query for a page of 200 rows, and publication lists are what pipelines poll.
        The related values come annotated on the row (``publications_for_api``), so a page builds one model
        object per row instead of five."""
        path = self.__dict__.get("_files_path")
        if path is None:  # reversed once per response, not once per row
            path = self.__dict__["_files_path"] = reverse("api:publications")
        return {
            "id": p.pk,
            "variant": p.variant_id,
            "review": p.review_id,
            "campaign": p.api_campaign,
            "target_format": p.target_format_id,
            "format_name": p.api_format_name,
            "locale": p.api_locale,
            "width": p.width,
            "height": p.height,
            "file_format": p.file_format,
            "sha256": p.sha256,
            "source_sha256": p.source_sha256,
            "status": p.status,
            "url": p.url,
            "failure_message": p.failure_message,
            "published_by": p.api_published_by,
            "created_at": _DATETIME.to_representation(p.created_at),
            "retracted_at": _DATETIME.to_representation(p.retracted_at) if p.retracted_at else None,
            "retraction_reason": p.retraction_reason,
            "file_url": f"{path}{p.pk}/file",
        }


_DATETIME = serializers.DateTimeField()


def publications_for_api(queryset):
    """Publications with what ``PublicationSerializer`` shows of their relations, as columns of the same
    row (one join, only the columns shown) rather than four related objects per row."""
    return queryset.only(*_PUBLICATION_COLUMNS).annotate(
        api_campaign=F("variant__draft__campaign_id"),
        api_locale=F("variant__locale"),
        api_format_name=F("target_format__name"),
        api_published_by=F("published_by__username"),
    )


_PUBLICATION_COLUMNS = (
    "id",
    "variant_id",
    "review_id",
    "target_format_id",
    "width",
    "height",
    "file_format",
    "sha256",
    "source_sha256",
    "status",
    "url",
    "failure_message",
    "created_at",
    "retracted_at",
    "retraction_reason",
)


class RunCellSerializer(serializers.ModelSerializer):
    class Meta:
        model = RunCell
        fields = [
            "id",
            "target_format",
            "locale",
            "status",
            "job",
            "attempts",
            "estimated_cost",
            "actual_cost",
            "error",
        ]


class RunSummarySerializer(serializers.ModelSerializer):
    created_by = _username("created_by")

    class Meta:
        model = ProductionRun
        fields = [
            "id",
            "campaign",
            "source_version",
            "master",
            "deployment",
            "variants_per_cell",
            "quality",
            "status",
            "estimated_cost",
            "error",
            "created_by",
            "created_at",
            "finished_at",
        ]


class RunSerializer(RunSummarySerializer):
    """A run with its cells (one per format and locale) and each cell's job."""

    cells = RunCellSerializer(many=True, read_only=True)

    class Meta(RunSummarySerializer.Meta):
        fields = [*RunSummarySerializer.Meta.fields, "cells"]
