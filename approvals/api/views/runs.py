"""Production runs: launch (a campaign's formats x locales in one budgeted batch), status, cancel.

Through the studio's own run services (``studio.runs.services.run_launch`` / ``run_cancel``): the same
role, plan, per-cell checks and whole-run budget reservation as the run page."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from approvals.api import inputs
from approvals.api import serializers as out
from approvals.api.models import ApiScope
from approvals.api.views.common import ListView, ReadView, created, in_workspace
from studio.generation.models import Campaign, Deployment, PromptDraft, Variant, VariantStatus
from studio.runs import services as run_services
from studio.runs.models import ProductionRun
from studio.runs.planning import RunSpec


def _runs(workspace):
    return ProductionRun.objects.filter(workspace=workspace).select_related("created_by").prefetch_related("cells")


class RunList(ListView):
    """Runs, newest first, without their cells (read one run for its cells)."""

    serializer_class = out.RunSummarySerializer
    filter_class = inputs.RunFilter
    required_scopes = {"GET": ApiScope.READ, "POST": ApiScope.GENERATE}

    def base_queryset(self):
        return ProductionRun.objects.filter(workspace=self.workspace).select_related("created_by")

    def filter_queryset(self, queryset):
        f = self.filters()
        return queryset.filter(campaign_id=f["campaign"]) if f.get("campaign") else queryset

    @extend_schema(request=inputs.RunLaunchInput, responses={201: out.RunSerializer})
    def post(self, request):
        """Launch a run from a draft's latest version (or derive from an approved master image) for the
        chosen formats and locales (default: all of the campaign's). Refused whole when it does not fit the
        budget, unless ``only_what_fits``."""
        data = self.body(inputs.RunLaunchInput)
        workspace = self.workspace
        campaign = in_workspace(Campaign.objects.filter(workspace=workspace), data["campaign"], "campaign")
        version = master = None
        if data.get("draft"):
            draft = in_workspace(PromptDraft.objects.filter(campaign=campaign), data["draft"], "draft")
            version = draft.versions.order_by("-number").first()
        else:
            master = in_workspace(
                Variant.objects.filter(
                    workspace=workspace,
                    draft__campaign=campaign,
                    status__in=[VariantStatus.APPROVED, VariantStatus.PUBLISHED],
                ).select_related("job__draft_version"),
                data["master"],
                "master",
            )
        deployments = Deployment.objects.filter(workspace=workspace, active=True).select_related("profile")
        if data.get("deployment"):
            deployment = in_workspace(deployments, data["deployment"], "deployment")
        else:
            deployment = deployments.order_by("-is_default", "name").first()
            if deployment is None:
                self.refuse_field("deployment", "This workspace has no active deployment to generate with.")
        formats = list(campaign.formats.order_by("name"))
        if data.get("formats"):
            wanted = set(data["formats"])
            formats = [f for f in formats if f.pk in wanted]
            if len(formats) != len(wanted):
                self.refuse_field("formats", "Some of those formats are not this campaign's.")
        locales = data.get("locales") or list(campaign.locales or workspace.default_locales or [])
        spec = RunSpec(
            campaign=campaign,
            deployment=deployment,
            formats=formats,
            locales=locales,
            n=data["n"],
            quality=data["quality"],
            version=version,
            master=master,
        )
        run = run_services.run_launch(actor=request.user, spec=spec, only_what_fits=data["only_what_fits"])
        return created(out.RunSerializer(_runs(workspace).get(pk=run.pk)).data, "api:run", run.pk)


class RunDetail(ReadView):
    serializer_class = out.RunSerializer

    def base_queryset(self):
        return _runs(self.workspace)


class RunCancel(ReadView):
    serializer_class = out.RunSerializer
    required_scopes = {"POST": ApiScope.GENERATE}
    http_method_names = ["post", "options"]

    def base_queryset(self):
        return _runs(self.workspace).select_related("workspace")

    @extend_schema(request=None, responses={200: out.RunSerializer})
    def post(self, request, pk: int):
        """Stop the run: no new provider calls; cells in flight finish; unspent reservations are released."""
        run = self.get_object()
        run_services.run_cancel(actor=request.user, run=run)
        return Response(out.RunSerializer(_runs(self.workspace).get(pk=run.pk)).data, status=status.HTTP_200_OK)
