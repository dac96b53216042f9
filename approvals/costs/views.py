"""The cost pages. Who sees them: workspace admins and marketers (the people who spend the budget);
reviewers and compliance auditors get a 403 page that says so, and other workspaces are 404. Only
workspace admins change a campaign's budget alert.

Views parse input, call ``pages.dashboard`` (reads) or a service (writes) and render; ``?export=<table>``
answers any table of the page as CSV.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from approvals.costs.forms import AlertThresholdForm, DateRangeForm
from approvals.costs.money import CurrencyMix
from approvals.costs.pages import dashboard
from approvals.costs.selectors import scope_for
from approvals.costs.services import budget_alert_threshold_set
from studio.core.errors import Forbidden, Refusal, refusal_message
from studio.core.models import Role
from studio.core.permissions import GENERATORS, can_administer, has_role, workspace_for_user, workspaces_with_roles
from studio.generation.models import Campaign

VIEWERS = GENERATORS  # marketers and workspace admins


class CostsForbidden(Forbidden):
    code = "costs_forbidden"
    default_message = "Only workspace admins and marketers can see what this workspace spends."


def _require_viewer(user, workspace) -> None:
    if not has_role(user, workspace, Role.MARKETER):
        raise CostsForbidden()


def _denied(request: HttpRequest, exc: Exception) -> HttpResponse:
    return render(request, "costs/denied.html", {"message": refusal_message(exc)}, status=403)


@login_required
@require_GET
def costs_index(request: HttpRequest) -> HttpResponse:
    workspaces = list(workspaces_with_roles(request.user, VIEWERS))
    if len(workspaces) == 1:
        return redirect("costs:dashboard", slug=workspaces[0].slug)
    return render(request, "costs/index.html", {"workspaces": workspaces})


def _page(request: HttpRequest, workspace, campaign=None) -> HttpResponse:
    form = DateRangeForm(request.GET or None)
    context = {
        "workspace": workspace,
        "campaign": campaign,
        "form": form,
        "can_administer": can_administer(request.user, workspace),
    }
    if request.GET and not form.is_valid():
        return render(request, "costs/dashboard.html", context, status=400)
    since, until = form.range() if form.is_bound else (None, None)
    scope = scope_for(workspace, since=since, until=until, campaign=campaign)
    try:
        page = dashboard(scope)
    except CurrencyMix as exc:
        context["refusal"] = exc.message
        return render(request, "costs/dashboard.html", context, status=409)
    export = request.GET.get("export")
    if export:
        table = page.tables.get(export)
        if table is None:
            raise Http404("No such table")
        name = f"{workspace.slug}{'-' + campaign.slug if campaign else ''}-{export}-{scope.since}-{scope.until}.csv"
        response = HttpResponse(table.csv(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    query = request.GET.copy()
    query.pop("export", None)
    context.update(
        page=page,
        scope=scope,
        report=page.report,
        ops=page.operations,
        query=query.urlencode(),
        alert_form=AlertThresholdForm(initial={"percent": campaign.budget_alert_percent}) if campaign else None,
    )
    return render(request, "costs/dashboard.html", context)


@login_required
@require_GET
def costs_dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    workspace = workspace_for_user(request.user, slug)
    try:
        _require_viewer(request.user, workspace)
    except Forbidden as exc:
        return _denied(request, exc)
    return _page(request, workspace)


@login_required
@require_GET
def costs_campaign(request: HttpRequest, slug: str, campaign_slug: str) -> HttpResponse:
    workspace = workspace_for_user(request.user, slug)
    campaign = get_object_or_404(Campaign, workspace=workspace, slug=campaign_slug)
    try:
        _require_viewer(request.user, workspace)
    except Forbidden as exc:
        return _denied(request, exc)
    return _page(request, workspace, campaign)


@login_required
@require_POST
def costs_alert_threshold(request: HttpRequest, slug: str, campaign_slug: str) -> HttpResponse:
    workspace = workspace_for_user(request.user, slug)
    campaign = get_object_or_404(Campaign, workspace=workspace, slug=campaign_slug)
    form = AlertThresholdForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a threshold between 1% and 100% of the budget.")
        return redirect("costs:campaign", slug=slug, campaign_slug=campaign_slug)
    try:
        budget_alert_threshold_set(actor=request.user, campaign=campaign, percent=form.cleaned_data["percent"])
    except Forbidden as exc:
        return _denied(request, exc)
    except Refusal as exc:
        messages.error(request, exc.message)
        return redirect("costs:campaign", slug=slug, campaign_slug=campaign_slug)
    messages.success(request, f"The budget alert of {campaign.name} is now at {form.cleaned_data['percent']}%.")
    return redirect("costs:campaign", slug=slug, campaign_slug=campaign_slug)
