"""Campaigns, deployments, drafts and versions, jobs, variants (with their image downloads) and runs.

Every write calls the service the studio's pages call (``draft_create``, ``job_launch`` ...): same
roles, limits and budget checks, same audit events. Every read starts at the key's workspace."""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from approvals.api import inputs
from approvals.api import serializers as out
from approvals.api.base import FileRenderer, file_response
from approvals.api.models import ApiScope
from approvals.api.views.common import ListView, ReadView, WorkspaceView, created, in_workspace
from studio.generation import selectors as studio_selectors
from studio.generation import services as studio_services
from studio.generation.models import Campaign, Deployment, DraftVersion, GenerationJob, PromptDraft, Variant
from studio.lib.imaging.formats import STORED

# What a variant's image (and its thumbnail, a WebP or the image itself) is stored as.
IMAGE_TYPES = tuple(fmt.mime for fmt in STORED)


# --- campaigns and deployments ---------------------------------------------------------------------------


class CampaignList(ListView):
    serializer_class = out.CampaignSerializer
    filter_class = inputs.CampaignFilter

    def base_queryset(self):
        return Campaign.objects.filter(workspace=self.workspace).prefetch_related("formats")

    def filter_queryset(self, queryset):
        f = self.filters()
        return queryset.filter(slug=f["slug"]) if f.get("slug") else queryset


class CampaignDetail(ReadView):
    serializer_class = out.CampaignSerializer

    def base_queryset(self):
        return Campaign.objects.filter(workspace=self.workspace).prefetch_related("formats")


class DeploymentList(ListView):
    serializer_class = out.DeploymentSerializer

    def base_queryset(self):
        return Deployment.objects.filter(workspace=self.workspace, active=True)


# --- drafts and versions ------------------------------------------------------------------------------


def _drafts(workspace):
    return PromptDraft.objects.filter(workspace=workspace).select_related("created_by")


class DraftList(ListView):
    serializer_class = out.DraftSerializer
    filter_class = inputs.DraftFilter
    required_scopes = {"GET": ApiScope.READ, "POST": ApiScope.GENERATE}

    def base_queryset(self):
        return _drafts(self.workspace)

    def filter_queryset(self, queryset):
        f = self.filters()
        return queryset.filter(campaign_id=f["campaign"]) if f.get("campaign") else queryset

    @extend_schema(request=inputs.DraftCreateInput, responses={201: out.DraftSerializer})
    def post(self, request):
        data = self.body(inputs.DraftCreateInput)
        campaign = in_workspace(Campaign.objects.filter(workspace=self.workspace), data["campaign"], "campaign")
        draft = studio_services.draft_create(
            actor=request.user,
            campaign=campaign,
            title=data["title"],
            text=data["text"],
            variables=data["variables"],
            locale_copy=data["locale_copy"],
        )
        return created(out.DraftSerializer(_drafts(self.workspace).get(pk=draft.pk)).data, "api:draft", draft.pk)


class DraftDetail(ReadView):
    serializer_class = out.DraftSerializer

    def base_queryset(self):
        return _drafts(self.workspace)


class DraftVersionList(ListView):
    serializer_class = out.DraftVersionSerializer
    required_scopes = {"GET": ApiScope.READ, "POST": ApiScope.GENERATE}

    def draft(self) -> PromptDraft:
        return studio_selectors.draft_get(workspace=self.workspace, pk=self.kwargs["pk"])

    def base_queryset(self):
        return DraftVersion.objects.filter(draft=self.draft()).select_related("created_by")

    @extend_schema(
        request=inputs.DraftVersionInput, responses={200: out.DraftVersionSerializer, 201: out.DraftVersionSerializer}
    )
    def post(self, request, pk: int):
        """Add a version to the draft (201). The same text, values and copy as the latest version add
        nothing, as on the draft page: the answer is that version (200)."""
        draft = self.draft()
        data = self.body(inputs.DraftVersionInput)
        latest = draft.versions.order_by("-number").values_list("pk", flat=True).first()
        version = studio_services.draft_version_add(
            actor=request.user,
            draft=draft,
            text=data["text"],
            variables=data["variables"],
            locale_copy=data["locale_copy"],
        )
        answer = status.HTTP_200_OK if version.pk == latest else status.HTTP_201_CREATED
        version = DraftVersion.objects.select_related("created_by").get(pk=version.pk)
        return Response(out.DraftVersionSerializer(version).data, status=answer)


# --- jobs ------------------------------------------------------------------------------------------------


def _jobs(workspace):
    return (
        GenerationJob.objects.filter(workspace=workspace)
        .select_related("created_by", "draft_version")
        .prefetch_related(Prefetch("variants", queryset=Variant.objects.only("pk", "job_id").order_by("index")))
    )


class JobList(ListView):
    serializer_class = out.JobSerializer
    filter_class = inputs.JobFilter
    required_scopes = {"GET": ApiScope.READ, "POST": ApiScope.GENERATE}

    def base_queryset(self):
        return _jobs(self.workspace)

    def filter_queryset(self, queryset):
        f = self.filters()
        if f.get("campaign"):
            queryset = queryset.filter(campaign_id=f["campaign"])
        if f.get("draft"):
            queryset = queryset.filter(draft_version__draft_id=f["draft"])
        if f.get("status"):
            queryset = queryset.filter(status=f["status"])
        return queryset

    @extend_schema(request=inputs.JobLaunchInput, responses={201: out.JobSerializer})
    def post(self, request):
        data = self.body(inputs.JobLaunchInput)
        workspace = self.workspace
        draft = in_workspace(
            PromptDraft.objects.filter(workspace=workspace).select_related("campaign"), data["draft"], "draft"
        )
        deployments = Deployment.objects.filter(workspace=workspace, active=True).select_related("profile")
        if data.get("deployment"):
            deployment = in_workspace(deployments, data["deployment"], "deployment")
        else:
            deployment = deployments.order_by("-is_default", "name").first()
            if deployment is None:
                return self.refuse_field("deployment", "This workspace has no active deployment to generate with.")
        target_format = None
        width, height = data.get("width"), data.get("height")
        if data.get("target_format"):
            target_format = in_workspace(draft.campaign.formats.all(), data["target_format"], "target_format")
            width, height = target_format.width, target_format.height
        request_ = studio_services.LaunchRequest(
            deployment=deployment,
            target_width=width,
            target_height=height,
            n=data["n"],
            quality=data["quality"],
            output_format=data["output_format"],
            route=data["route"],
            locale=data["locale"],
            target_format=target_format,
        )
        version = draft.versions.order_by("-number").first()
        job = studio_services.job_launch(actor=request.user, version=version, request=request_)
        return created(out.JobSerializer(_jobs(workspace).get(pk=job.pk)).data, "api:job", job.pk)


class JobDetail(ReadView):
    serializer_class = out.JobSerializer

    def base_queryset(self):
        return _jobs(self.workspace)


# --- variants --------------------------------------------------------------------------------------------


def _variants(workspace):
    return Variant.objects.filter(workspace=workspace).select_related("created_by", "draft")


class VariantList(ListView):
    serializer_class = out.VariantSerializer
    filter_class = inputs.VariantFilter

    def base_queryset(self):
        return _variants(self.workspace)

    def filter_queryset(self, queryset):
        f = self.filters()
        for name, lookup in (("campaign", "draft__campaign_id"), ("draft", "draft_id"), ("job", "job_id")):
            if f.get(name):
                queryset = queryset.filter(**{lookup: f[name]})
        if f.get("status"):
            queryset = queryset.filter(status=f["status"])
        if "locale" in f:
            queryset = queryset.filter(locale=f["locale"])
        return queryset


class VariantDetail(ReadView):
    serializer_class = out.VariantSerializer

    def base_queryset(self):
        return _variants(self.workspace)


class _VariantMedia(WorkspaceView):
    """The image files, through the studio's own media lookup (its workspace only, 404 otherwise)."""

    renderer_classes = [FileRenderer]
    serializer_class = None
    pagination_class = None

    def media(self, pk: int):
        return studio_selectors.variant_media_get(workspace=self.workspace, pk=pk)


class VariantImage(_VariantMedia):
    @extend_schema(responses={(200, mime): OpenApiResponse(OpenApiTypes.BINARY) for mime in IMAGE_TYPES})
    def get(self, request, pk: int):
        return file_response(self.media(pk).image)


class VariantThumbnail(_VariantMedia):
    @extend_schema(responses={(200, mime): OpenApiResponse(OpenApiTypes.BINARY) for mime in IMAGE_TYPES})
    def get(self, request, pk: int):
        variant = self.media(pk)
        return file_response(variant.thumbnail or variant.image)
