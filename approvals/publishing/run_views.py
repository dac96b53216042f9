"""Publishing a production run: the plan (what each cell publishes, what is refused and why, which cells
have no approved image), one "Publish" action, and its progress (polled by htmx while renders run)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from approvals.publishing import run_publishing
from approvals.publishing.panels import RenditionPreview
from approvals.reviews.errors import REFUSED
from approvals.reviews.selectors_runs import run_for_user
from approvals.reviews.views._common import HtmxHttpRequest
from studio.core.errors import refusal_message
from studio.core.permissions import can_publish, workspace_for_user

TEMPLATE = "publishing/run_publish.html"
# How long after "Publish this run" the page keeps polling for renders (a hint for the page, not state).
PUBLISHING_WINDOW_SECONDS = 3600
# The approved images table pages; the missing and refused lists are shown whole (nothing hidden).
TARGETS_PER_PAGE = 50


def _publishing_key(run) -> str:
    return f"run-publishing:{run.pk}"


@login_required
@require_http_methods(["GET", "POST"])
def run_publish(request: HtmxHttpRequest, slug: str, run_pk: int) -> HttpResponse:
    workspace = workspace_for_user(request.user, slug)
    run = run_for_user(user=request.user, workspace=workspace, pk=run_pk)
    here = reverse("publishing:run_publish", kwargs={"slug": workspace.slug, "run_pk": run.pk})
    started = None
    if request.method == "POST":
        try:
            started = run_publishing.run_publish(actor=request.user, run=run)
        except REFUSED as exc:
            messages.error(request, refusal_message(exc))
            return redirect(here)
        cache.set(_publishing_key(run), True, PUBLISHING_WINDOW_SECONDS)
    plan = run_publishing.run_publication_plan(run=run)
    progress = run_publishing.run_publish_progress(run=run, user=request.user, plan=plan)
    polling = bool(cache.get(_publishing_key(run))) and progress.waiting > 0
    targets_page = Paginator(plan.targets, TARGETS_PER_PAGE).get_page(request.GET.get("page"))
    for target in targets_page:  # the crop and safe zone of each row shown, before anything goes live
        target.preview = RenditionPreview(variant=target.variant, target_format=target.target_format, plan=target.plan)
    context = {
        "workspace": workspace,
        "run": run,
        "plan": plan,
        "targets_page": targets_page,
        "progress": progress,
        "started": started,
        "polling": polling,
        "here": here,
        "can_publish": can_publish(request.user, workspace),
    }
    if request.htmx and request.method == "GET" and request.GET.get("progress"):
        return render(request, TEMPLATE + "#progress", context)
    return render(request, TEMPLATE, context)
