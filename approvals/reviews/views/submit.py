"""Submit a variant for review, or ask compliance to override a safety block (buttons on the studio's
variant page; the answer is an htmx fragment or a redirect back to the variant)."""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST

from approvals.reviews import selectors, services
from approvals.reviews.errors import REFUSED
from approvals.reviews.forms import OverrideForm
from approvals.reviews.views._common import HtmxHttpRequest, variant_url
from studio.core.errors import refusal_message
from studio.core.permissions import workspace_for_user
from studio.lib.ids import parse_ids


def _due_at(raw: str) -> tuple[datetime | None, str]:
    """The optional due date of a submission (``<input type="datetime-local">``, in the site's time zone)."""
    raw = raw.strip()
    if not raw:
        return None, ""
    parsed = parse_datetime(raw)
    if parsed is None:
        return None, "Enter the due date as a date and time."
    return (timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed), ""


@login_required
@require_POST
def variant_submit(request: HtmxHttpRequest, slug: str, variant_id: int) -> HttpResponse:
    workspace = workspace_for_user(request.user, slug)
    variant = selectors.variant_for_user(user=request.user, workspace=workspace, pk=variant_id)
    review, error = None, ""
    due_at, error = _due_at(request.POST.get("due_at", ""))
    reviewer_ids = parse_ids(request.POST.getlist("reviewers"))
    if not error:
        try:
            review = services.variant_submit(
                actor=request.user, variant=variant, due_at=due_at, reviewer_ids=reviewer_ids
            )
        except REFUSED as exc:
            error = refusal_message(exc)
    if request.htmx:
        return render(
            request,
            "approvals/partials/submit_result.html",
            {"review": review, "error": error, "variant": variant},
            status=200 if review else 422,
        )
    if review is not None:
        stages = " then ".join(s.get_kind_display().lower() for s in review.stages.order_by("order"))
        messages.success(request, f"Submitted for review: {stages}.")
    else:
        messages.error(request, error)
    return redirect(variant_url(variant))


@login_required
@require_POST
def request_override(request: HtmxHttpRequest, slug: str, variant_id: int) -> HttpResponse:
    workspace = workspace_for_user(request.user, slug)
    variant = selectors.variant_for_user(user=request.user, workspace=workspace, pk=variant_id)
    form = OverrideForm(request.POST)
    review, error = None, ""
    if form.is_valid():
        try:
            review = services.variant_request_override(
                actor=request.user, variant=variant, reason=form.cleaned_data["reason"]
            )
        except REFUSED as exc:
            error = refusal_message(exc)
    else:
        error = "Explain why this image should be allowed despite the safety block."
    if request.htmx:
        return render(
            request,
            "approvals/partials/submit_result.html",
            {"review": review, "error": error, "variant": variant, "override": True},
            status=200 if review else 422,
        )
    if review is not None:
        messages.success(request, "Sent to compliance for an override decision.")
    else:
        messages.error(request, error)
    return redirect(variant_url(variant))
