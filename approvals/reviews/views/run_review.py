"""Reviewing a production run: the grid of its images by format x locale, filtered by state and verdict,
with bulk approve / reject of the selection after a confirmation. Decisions stay per image: the bulk
service calls the one decision service for each, and lists every refusal with its reason."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from approvals.reviews import selectors_runs
from approvals.reviews.errors import InvalidDecision
from approvals.reviews.forms_runs import RunBulkDecisionForm, RunReviewFilterForm
from approvals.reviews.models import DecisionOutcome
from approvals.reviews.services.bulk import MAX_BULK_ITEMS, run_bulk_decide
from approvals.reviews.views._common import HtmxHttpRequest
from studio.core.models import Workspace
from studio.core.permissions import can_review, workspace_for_user
from studio.generation.models import CampaignFormat, Variant
from studio.runs.models import ProductionRun, RunCell

# Cells per page: a 1,000-cell run is twenty pages (10 formats x 5 locales each); a page stays quick to
# render (p95 under 100 ms at 1,000 cells, tests/bench/bench_run_review.py) and to scan by keyboard.
CELLS_PER_PAGE = 50
TEMPLATE = "approvals/run_review.html"


def run_review_url(run: ProductionRun) -> str:
    return reverse("approvals:run_review", kwargs={"slug": run.workspace.slug, "run_pk": run.pk})


def _filter_form(request: HtmxHttpRequest, run: ProductionRun, data) -> RunReviewFilterForm:
    formats = CampaignFormat.objects.filter(pk__in=RunCell.objects.filter(run=run).values("target_format_id"))
    locales = RunCell.objects.filter(run=run).order_by("locale").values_list("locale", flat=True).distinct()
    return RunReviewFilterForm(data or None, formats=formats.order_by("name"), locales=list(locales))


def _grid_context(request: HtmxHttpRequest, workspace: Workspace, run: ProductionRun, data) -> dict[str, Any]:
    form = _filter_form(request, run, data)
    filters = form.filters() if data else {}
    page_obj = Paginator(selectors_runs.run_review_cells(run=run, filters=filters), CELLS_PER_PAGE).get_page(
        data.get("page") if data else None
    )
    columns, rows = selectors_runs.run_grid(
        user=request.user, run=run, cells=list(page_obj.object_list), filters=filters
    )
    query = data.copy() if data else None
    if query is not None:
        query.pop("page", None)
    return {
        "workspace": workspace,
        "run": run,
        "filter_form": form,
        "filtered": bool(filters),
        "page_obj": page_obj,
        "columns": columns,
        "rows": rows,
        "query": query.urlencode() if query is not None else "",
        "review_url": run_review_url(run),
        "decide_url": reverse("approvals:run_review_decide", kwargs={"slug": workspace.slug, "run_pk": run.pk}),
        "can_decide": can_review(request.user, workspace),
        "max_items": MAX_BULK_ITEMS,
    }


@login_required
@require_GET
def run_review(request: HtmxHttpRequest, slug: str, run_pk: int) -> HttpResponse:
    workspace = workspace_for_user(request.user, slug)
    run = selectors_runs.run_for_user(user=request.user, workspace=workspace, pk=run_pk)
    context = _grid_context(request, workspace, run, request.GET)
    if request.htmx and not request.htmx.boosted:
        return render(request, TEMPLATE + "#grid", context)
    return render(request, TEMPLATE, context)


@login_required
@require_GET
def run_review_list(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The workspace's runs, newest first, each linking to its review grid ("Review by run")."""
    workspace = workspace_for_user(request.user, slug)
    page_obj = Paginator(selectors_runs.runs_for_review(workspace=workspace), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "approvals/run_review_list.html",
        {"workspace": workspace, "page_obj": page_obj, "runs": page_obj.object_list},
    )


def _selected(run: ProductionRun, items) -> list[Variant]:
    """The selected images of this run, for the confirmation step (thumbnails and labels)."""
    ids = [item.variant_id for item in items]
    jobs = RunCell.objects.filter(run=run, job__isnull=False).values("job_id")
    variants = list(Variant.objects.filter(pk__in=ids, job_id__in=jobs).select_related("job__target_format"))
    for variant in variants:
        variant.workspace = run.workspace
    return variants


@login_required
@require_POST
def run_review_decide(request: HtmxHttpRequest, slug: str, run_pk: int) -> HttpResponse:
    """Bulk approve / reject. Without ``confirmed`` it answers the confirmation step (the selection,
    the outcome, the reason box); confirmed, it decides each image and lists every result."""
    workspace = workspace_for_user(request.user, slug)
    run = selectors_runs.run_for_user(user=request.user, workspace=workspace, pk=run_pk)
    form = RunBulkDecisionForm(request.POST)
    context = _grid_context(request, workspace, run, request.GET)
    status = 200
    if not form.is_valid():
        context["bulk_error"] = " ".join(e for errors in form.errors.values() for e in errors)
        status = 422
    elif not form.cleaned_data["confirmed"]:
        context.update(
            confirm_items=form.cleaned_data["items"],
            confirm_variants=_selected(run, form.cleaned_data["items"]),
            confirm_outcome=form.cleaned_data["outcome"],
            confirm_note=form.cleaned_data["note"],
            confirm_is_reject=form.cleaned_data["outcome"] == DecisionOutcome.REJECT,
        )
    else:
        try:
            outcome = run_bulk_decide(
                actor=request.user,
                run=run,
                items=form.cleaned_data["items"],
                outcome=form.cleaned_data["outcome"],
                note=form.cleaned_data["note"],
            )
        except InvalidDecision as exc:
            context["bulk_error"] = exc.message
            status = 422
        else:
            context = _grid_context(request, workspace, run, request.GET)  # the grid after the decisions
            context["bulk"] = outcome
    if request.htmx:
        return render(request, TEMPLATE + "#grid", context, status=status)
    return render(request, TEMPLATE, context, status=status)
