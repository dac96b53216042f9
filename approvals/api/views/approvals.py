"""Reviews (read, submit, decide), publications (list, filter, download, publish) and the audit export.

Submitting, deciding and publishing call the services the review and publication pages call
(``variant_submit``, ``decision_attempt``, ``publication_request``): the same roles, separation of
duties, self-approval rule and audit trail, refusals included."""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from approvals.api import inputs
from approvals.api import serializers as out
from approvals.api.base import FileRenderer
from approvals.api.models import ApiScope
from approvals.api.pagination import IdsFirstCursorPagination
from approvals.api.views.common import ListView, ReadView, WorkspaceView, created, in_workspace
from approvals.compliance import services as compliance_services
from approvals.compliance.exports import AuditFilter, export_filename, streaming_export
from approvals.publishing import retraction
from approvals.publishing import selectors as publishing_selectors
from approvals.publishing import views as publishing_views
from approvals.publishing.models import Publication, PublicationStatus
from approvals.publishing.starting import publication_start
from approvals.reviews import services as review_services
from approvals.reviews.models import Decision, Review, ReviewStage, StageStatus
from studio.core.permissions import can_decide_kind
from studio.generation.models import CampaignFormat, Variant

# --- reviews ----------------------------------------------------------------------------------------------


def _reviews(workspace):
    stages = ReviewStage.objects.order_by("order").prefetch_related(
        Prefetch("decisions", queryset=Decision.objects.select_related("reviewer").order_by("created_at", "pk"))
    )
    return (
        Review.objects.filter(workspace=workspace)
        .select_related("submitted_by")
        .prefetch_related(Prefetch("stages", queryset=stages))
    )


class ReviewList(ListView):
    serializer_class = out.ReviewSerializer
    filter_class = inputs.ReviewFilter
    required_scopes = {"GET": ApiScope.READ, "POST": ApiScope.REVIEW}

    def base_queryset(self):
        return _reviews(self.workspace)

    def filter_queryset(self, queryset):
        f = self.filters()
        if f.get("variant"):
            queryset = queryset.filter(variant_id=f["variant"])
        if f.get("status"):
            queryset = queryset.filter(status=f["status"])
        return queryset

    @extend_schema(request=inputs.ReviewSubmitInput, responses={201: out.ReviewSerializer})
    def post(self, request):
        """Submit a ready image for review (the marketer's "Submit for review")."""
        data = self.body(inputs.ReviewSubmitInput)
        variant = in_workspace(Variant.objects.filter(workspace=self.workspace), data["variant"], "variant")
        review = review_services.variant_submit(actor=request.user, variant=variant)
        return created(out.ReviewSerializer(_reviews(self.workspace).get(pk=review.pk)).data, "api:review", review.pk)


class ReviewDetail(ReadView):
    serializer_class = out.ReviewSerializer

    def base_queryset(self):
        return _reviews(self.workspace)


class ReviewDecide(ReadView):
    """``POST``: decide a stage of the review as the key's user. Refused like on the review page: a role
    that may not decide this stage, your own work, the other stage already decided by you, a changed
    image, a stage someone else already closed. Refusals by the rules are recorded in the audit log."""

    serializer_class = out.DecisionSerializer
    required_scopes = {"POST": ApiScope.REVIEW}
    http_method_names = ["post", "options"]

    def base_queryset(self):
        return Review.objects.filter(workspace=self.workspace).select_related("workspace")

    def _stage(self, review: Review, stage_id: int | None) -> ReviewStage:
        stages = ReviewStage.objects.filter(review=review)
        if stage_id is not None:
            return in_workspace(stages, stage_id, "stage")
        pending = list(stages.filter(status=StageStatus.PENDING).order_by("order"))
        mine = [s for s in pending if can_decide_kind(self.request.user, review.workspace, s.kind)]
        if mine or pending:
            return (mine or pending)[0]
        self.refuse_field("stage", "This review has no stage waiting for a decision.")
        raise AssertionError("unreachable")

    @extend_schema(request=inputs.DecisionInput, responses={201: out.DecisionSerializer})
    def post(self, request, pk: int):
        review = self.get_object()
        data = self.body(inputs.DecisionInput)
        stage = self._stage(review, data.get("stage"))
        decision = review_services.decision_attempt(
            actor=request.user,
            stage=stage,
            outcome=data["outcome"],
            note=data["note"],
            expected_sha256=data["expected_sha256"],
            comment_ids=data["comments"],
        )
        decision = Decision.objects.select_related("reviewer").get(pk=decision.pk)
        return Response(out.DecisionSerializer(decision).data, status=status.HTTP_201_CREATED)


# --- publications -----------------------------------------------------------------------------------------


def _publications(workspace):
    return out.publications_for_api(Publication.objects.filter(workspace=workspace))


PublishAccepted = inline_serializer(
    "PublishAccepted",
    {
        "status": serializers.ChoiceField(choices=["queued", "published"]),
        "variant": serializers.IntegerField(),
        "target_format": serializers.IntegerField(),
        "publication": serializers.IntegerField(allow_null=True),
    },
)


class PublicationList(ListView):
    serializer_class = out.PublicationSerializer
    pagination_class = IdsFirstCursorPagination  # the list pipelines poll, over the biggest table
    filter_class = inputs.PublicationFilter
    required_scopes = {"GET": ApiScope.READ, "POST": ApiScope.PUBLISH}

    def base_queryset(self):
        # Only what the filters need: it picks the page's ids; page_rows reads what the rows show.
        return Publication.objects.filter(workspace=self.workspace)

    def page_rows(self):
        return _publications(self.workspace)

    def filter_queryset(self, queryset):
        f = self.filters()
        if f.get("campaign"):
            queryset = queryset.filter(variant__draft__campaign_id=f["campaign"])
        if f.get("format"):
            queryset = queryset.filter(target_format_id=f["format"])
        if f.get("variant"):
            queryset = queryset.filter(variant_id=f["variant"])
        if "locale" in f:
            queryset = queryset.filter(variant__locale=f["locale"])
        if f.get("since"):
            queryset = queryset.filter(created_at__gte=f["since"])
        return queryset

    @extend_schema(request=inputs.PublishInput, responses={200: PublishAccepted, 202: PublishAccepted})
    def post(self, request):
        """Publish an approved image in one of its campaign's formats. The rendition is made by the worker,
        as from the review page: 202 while it is queued (list publications by ``variant`` to follow it),
        200 when that format was already published."""
        data = self.body(inputs.PublishInput)
        variant = in_workspace(
            Variant.objects.filter(workspace=self.workspace).select_related("workspace", "draft"),
            data["variant"],
            "variant",
        )
        target_format = in_workspace(
            CampaignFormat.objects.filter(campaign_id=variant.draft.campaign_id), data["target_format"], "target_format"
        )
        destination = None
        if data.get("destination"):
            destination = in_workspace(
                publishing_selectors.destinations_for(campaign_id=variant.draft.campaign_id),
                data["destination"],
                "destination",
            )
        answer = {"variant": variant.pk, "target_format": target_format.pk}
        # The page's own start: a failed publication is retried in place, the render goes through the outbox
        # (a broker that is down delays it; the sweeper sends it when the broker is back).
        started = publication_start(
            actor=request.user, variant=variant, target_format=target_format, destination=destination
        )
        if started.existing is not None:
            return Response({**answer, "status": "published", "publication": started.existing.pk})
        return Response({**answer, "status": "queued", "publication": None}, status=status.HTTP_202_ACCEPTED)


class PublicationDetail(ReadView):
    serializer_class = out.PublicationSerializer

    def base_queryset(self):
        return _publications(self.workspace)


class PublicationRetract(ReadView):
    """``POST``: withdraw a publication, with a reason, through the publishing app's own retract (the
    object leaves its destination, the publication is marked retracted, the audit records it; optionally
    the approval is withdrawn too, so publishing this version again needs a new decision)."""

    serializer_class = out.PublicationSerializer
    required_scopes = {"POST": ApiScope.PUBLISH}
    http_method_names = ["post", "options"]

    def base_queryset(self):
        # The whole row: retracting reads the file, its destination and the workspace.
        return Publication.objects.filter(workspace=self.workspace).select_related("workspace")

    @extend_schema(request=inputs.RetractInput, responses={200: out.PublicationSerializer})
    def post(self, request, pk: int):
        publication = self.get_object()
        data = self.body(inputs.RetractInput)
        retraction.publication_retract(
            actor=request.user,
            publication=publication,
            reason=data["reason"],
            withdraw_approval=data["withdraw_approval"],
        )
        return Response(out.PublicationSerializer(_publications(self.workspace).get(pk=publication.pk)).data)


class PublicationFile(ReadView):
    """The rendition, through the publishing app's own download view: the same rules for private
    destinations (a redirect to a short-lived signed URL) and failed publications (404). A retracted
    publication is 404 here whatever its destination did with the object: a pipeline polling the API must
    not pull an asset that was withdrawn (members still see it, with its retraction, on the site)."""

    renderer_classes = [FileRenderer]
    serializer_class = None

    def base_queryset(self):
        return Publication.objects.filter(workspace=self.workspace).exclude(status=PublicationStatus.RETRACTED)

    @extend_schema(responses={(200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY)})
    def get(self, request, pk: int):
        # DRF has set the key's user on the underlying request, so the view sees the same person.
        return publishing_views.publication_file(request._request, self.workspace.slug, self.get_object().pk)


# --- the audit export -------------------------------------------------------------------------------------


class AuditExport(WorkspaceView):
    """The workspace's audit log as CSV or JSON, streamed, exactly as the compliance log exports it (and
    recorded in the log the same way). Needs a compliance auditor's or admin's key."""

    renderer_classes = [FileRenderer]
    filter_class = inputs.AuditExportFilter
    pagination_class = None
    serializer_class = None

    @extend_schema(
        parameters=[inputs.AuditExportFilter],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR),
            (200, "application/json"): OpenApiResponse(OpenApiTypes.ANY),
        },
    )
    def get(self, request):
        f = self.filters()
        workspace = self.workspace
        filters = AuditFilter(
            workspace_ids=(workspace.pk,), since=f.get("since"), until=f.get("until"), action=f.get("action", "")
        )
        rows = compliance_services.audit_log_export(
            actor=request.user,
            workspaces=[workspace],
            filters=filters,
            fmt=f["format"],
            query={k: str(v) for k, v in f.items()},
        )
        return streaming_export(
            rows, fmt=f["format"], filename=export_filename(stem=f"audit-log-{workspace.slug}", fmt=f["format"])
        )
