"""The review queue: the user's combined queue across workspaces (``/reviews/``) and one workspace's
queue (``/w/<slug>/reviews/``), both with filters, pagination and bulk approval."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from approvals.reviews import selectors, services
from approvals.reviews.errors import REFUSED
from approvals.reviews.forms import BulkApproveForm, QueueFilterForm
from approvals.reviews.models import DecisionOutcome
from approvals.reviews.views._common import PAGE_SIZE, HtmxHttpRequest
from approvals.reviews.views.review import undo_offer
from studio.core.errors import refusal_message
from studio.core.models import Workspace
from studio.core.permissions import workspace_for_user
from studio.safety.models import SafetyVerdict


def _queue_urls(workspace: Workspace | None) -> dict[str, str]:
    if workspace is None:
        return {"queue_url": reverse("approvals:queue"), "bulk_url": reverse("approvals:bulk_approve")}
    return {
        "queue_url": reverse("approvals:workspace_queue", kwargs={"slug": workspace.slug}),
        "bulk_url": reverse("approvals:workspace_bulk_approve", kwargs={"slug": workspace.slug}),
    }


def _queue_context(request: HtmxHttpRequest, workspace: Workspace | None = None) -> dict[str, Any]:
    form = QueueFilterForm(request.GET or None, user=request.user, workspace=workspace)
    filters = form.filters() if request.GET else {}
    scoped = {**filters, "workspace": workspace.slug} if workspace is not None else filters
    page_obj = Paginator(selectors.review_queue(user=request.user, filters=scoped), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return {
        "filter_form": form,
        "page_obj": page_obj,
        "rows": page_obj.object_list,
        "now": timezone.now(),
        "filtered": bool(filters),
        "query": query.urlencode(),
        "scoped_workspace": workspace,
        # One workspace on screen (chosen in the filter or by the URL): rows need not name it.
        "single_workspace": workspace is not None or bool(filters.get("workspace")),
        **_queue_urls(workspace),
    }


def _queue(request: HtmxHttpRequest, workspace: Workspace | None) -> HttpResponse:
    context = _queue_context(request, workspace)
    if request.htmx and not request.htmx.boosted:
        return render(request, "approvals/queue.html#queue", context)
    context["undo"] = undo_offer(request)  # the decision just made, with its "Undo" button
    return render(request, "approvals/queue.html", context)


@login_required
@require_GET
def queue(request: HtmxHttpRequest) -> HttpResponse:
    """Every stage the user can act on, in all their workspaces, soonest due first."""
    return _queue(request, None)


@login_required
@require_GET
def workspace_queue(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The same queue, limited to one workspace (404 unless the user is a member)."""
    return _queue(request, workspace_for_user(request.user, slug))


def _bulk_approve(request: HtmxHttpRequest, workspace: Workspace | None) -> HttpResponse:
    """Approve several "allow" items at once. Every item is re-checked by the service; each gets its
    own result line, so one refusal never hides the others."""
    form = BulkApproveForm(request.POST)
    results: list[dict[str, Any]] = []
    if form.is_valid():
        items = form.cleaned_data["items"]
        stages = selectors.review_stages_for_user(
            user=request.user, pks=[pk for pk, _sha in items], workspace=workspace
        )
        for pk, sha in items:
            stage = stages.get(pk)
            if stage is None:
                results.append({"label": f"Item {pk}", "ok": False, "message": "Not found."})
                continue
            label = f"{stage.review.variant.draft.title} (variant #{stage.review.variant_id})"
            if stage.review.safety_verdict != SafetyVerdict.ALLOW:
                results.append(
                    {
                        "label": label,
                        "ok": False,
                        "message": 'Needs a closer look (safety verdict is not "allow"): open it to decide.',
                    }
                )
                continue
            try:
                services.decision_attempt(
                    actor=request.user, stage=stage, outcome=DecisionOutcome.APPROVE, expected_sha256=sha
                )
            except REFUSED as exc:
                results.append({"label": label, "ok": False, "message": refusal_message(exc)})
            else:
                results.append({"label": label, "ok": True, "message": "Approved."})
    elif not request.htmx:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    approved = sum(r["ok"] for r in results)
    summary = f"Approved {approved} of {len(results)} selected." if results else ""
    if request.htmx:
        context = _queue_context(request, workspace)
        context.update(
            bulk_results=results,
            bulk_summary=summary,
            bulk_error="" if form.is_valid() else "Select at least one image the safety check allowed.",
        )
        return render(request, "approvals/queue.html#queue", context)
    if results:
        messages.add_message(request, messages.SUCCESS if approved == len(results) else messages.WARNING, summary)
    for result in results:
        if not result["ok"]:
            messages.warning(request, f"{result['label']}: {result['message']}")
    return redirect(_queue_urls(workspace)["queue_url"])


@login_required
@require_POST
def bulk_approve(request: HtmxHttpRequest) -> HttpResponse:
    return _bulk_approve(request, None)


@login_required
@require_POST
def workspace_bulk_approve(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    return _bulk_approve(request, workspace_for_user(request.user, slug))
