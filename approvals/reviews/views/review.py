"""One review: its page, a decision on a stage, comments on the image."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from approvals.reviews import selectors, services
from approvals.reviews.errors import REFUSED, refusal_status
from approvals.reviews.extensions import review_context
from approvals.reviews.forms import CommentForm, DecisionForm
from approvals.reviews.models import Decision, DecisionOutcome, Review, ReviewStage, StageStatus
from approvals.reviews.views._common import HtmxHttpRequest, variant_url
from studio.core.errors import refusal_message
from studio.core.models import Role
from studio.core.permissions import can_decide_kind, has_role, workspace_for_user
from studio.lib.ids import parse_id
from studio.safety.selectors import safety_panel_context

# The request parameters a reviewer reads, in words (the rest are turned from snake_case into words).
PARAM_LABELS = {
    "model": "Model",
    "n": "Variants",
    "quality": "Quality",
    "output_format": "File type",
    "size": "Size sent",
    "background": "Background",
    "moderation": "Provider moderation",
    "output_compression": "Compression",
    "input_fidelity": "Input fidelity",
    "prompt": "Prompt",
}


def job_params(params: Any) -> list[tuple[str, str]]:
    if not isinstance(params, dict):
        return []
    return [
        (PARAM_LABELS.get(key, str(key).replace("_", " ").capitalize()), str(value))
        for key, value in params.items()
        if key != "prompt"  # shown in full above
    ]


def review_url(review: Review) -> str:
    return reverse("approvals:review_detail", kwargs={"slug": review.workspace.slug, "pk": review.pk})


def _actionable_stage(review: Review, user) -> ReviewStage | None:
    """The pending stage this user could decide now (the view only offers it; the service decides)."""
    if not review.is_open:
        return None
    for stage in review.stages.all():
        if stage.status == StageStatus.PENDING and can_decide_kind(user, review.workspace, stage.kind):
            return stage
    return None


def _review_context(
    request: HtmxHttpRequest,
    review: Review,
    *,
    decision_form: DecisionForm | None = None,
    comment_form: CommentForm | None = None,
    decision_error: str = "",
) -> dict[str, Any]:
    variant = review.variant
    comments = selectors.comments_for(variant=variant)
    stage = _actionable_stage(review, request.user)
    initial_outcome = request.GET.get("outcome", "")
    if initial_outcome not in DecisionOutcome.values:
        initial_outcome = ""
    if decision_form is None and stage is not None:
        decision_form = DecisionForm(
            comments=comments, initial={"expected_sha256": review.variant_sha256, "outcome": initial_outcome or None}
        )
    parents = list(variant.parents.select_related("created_by").order_by("pk"))
    latest = variant.reviews.order_by("-submitted_at", "-pk").values_list("pk", flat=True).first()
    # The in-image copy this locale's image should carry, so the reviewer can check it against the pixels.
    locale_copy = variant.job.draft_version.locale_copy if variant.locale and variant.job.draft_version_id else {}
    expected_copy = locale_copy.get(variant.locale, "") if isinstance(locale_copy, dict) else ""
    stages = list(review.stages.all())
    return {
        "review": review,
        "variant": variant,
        # "Reopen" is offered on these decisions (the service re-checks everything when it is used).
        "reopenable_ids": {
            d.pk
            for s in stages
            for d in s.decisions.all()
            if services.decision_reopenable(actor=request.user, decision=d, review=review)
        },
        "workspace": review.workspace,
        "job": variant.job,
        "job_params": job_params(variant.job.params),
        "stages": stages,
        "stage": stage,
        "decision_form": decision_form,
        "decision_error": decision_error,
        "focus_note": initial_outcome in (DecisionOutcome.REQUEST_CHANGES, DecisionOutcome.REJECT),
        "comments": comments,
        "pins": [c for c in comments if c.x is not None],
        # "Fix this" on a pinned comment opens the studio's edit form: only for people who may make versions.
        "can_fix": has_role(request.user, review.workspace, Role.MARKETER),
        "expected_copy": str(expected_copy),
        "comment_form": comment_form or CommentForm(),
        "parents": parents,
        "previous": parents[0] if parents else None,
        "is_latest_review": latest == review.pk,
        "variant_url": variant_url(variant),
        "now": timezone.now(),
        **safety_panel_context(variant=variant),
        # Sections of the layers above (publishing's "Publish" panel), registered in their ready().
        **review_context(request, review),
    }


def _review_get(request: HtmxHttpRequest, slug: str, pk: int) -> Review:
    workspace = workspace_for_user(request.user, slug)
    return selectors.review_for_user(user=request.user, workspace=workspace, pk=pk)


@login_required
@require_GET
def review_detail(request: HtmxHttpRequest, slug: str, pk: int) -> HttpResponse:
    review = _review_get(request, slug, pk)
    return render(request, "approvals/review_detail.html", _review_context(request, review))


@login_required
@require_POST
def review_decide(request: HtmxHttpRequest, slug: str, pk: int, stage_pk: int) -> HttpResponse:
    review = _review_get(request, slug, pk)
    stage = selectors.stage_for_review(review=review, pk=stage_pk)
    comments = selectors.comments_for(variant=review.variant)
    form = DecisionForm(request.POST, comments=comments)
    status = 422
    error = ""
    if form.is_valid():
        data = form.cleaned_data
        try:
            decision = services.decision_attempt(
                actor=request.user,
                stage=stage,
                outcome=data["outcome"],
                note=data["note"],
                expected_sha256=data["expected_sha256"],
                comment_ids=data["comment_ids"],
            )
        except REFUSED as exc:  # 409 someone decided first / the image changed, 403 not yours, 422 input
            error, status = refusal_message(exc), refusal_status(exc)
        else:
            offer_undo(request, decision, review)
            url = reverse("approvals:queue")
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    else:
        error = "Please check the decision: " + " ".join(e for errs in form.errors.values() for e in errs)
    # Re-read so the page shows the state that refused the decision (e.g. who decided first).
    review = selectors.review_for_user(user=request.user, workspace=review.workspace, pk=pk)
    keep_form = form if status == 422 else None
    context = _review_context(request, review, decision_form=keep_form, decision_error=error)
    template = "approvals/review_detail.html#decision-panel" if request.htmx else "approvals/review_detail.html"
    return render(request, template, context, status=status)


@login_required
@require_POST
def comment_add(request: HtmxHttpRequest, slug: str, pk: int) -> HttpResponse:
    review = _review_get(request, slug, pk)
    form = CommentForm(request.POST)
    error = ""
    if form.is_valid():
        parent = None
        if form.cleaned_data.get("parent"):
            parent = review.variant.comments.filter(pk=form.cleaned_data["parent"]).first()
            if parent is None:
                error = "The comment you replied to is gone."
        if not error:
            try:
                services.comment_add(
                    actor=request.user,
                    variant=review.variant,
                    text=form.cleaned_data["text"],
                    box=form.box,
                    parent=parent,
                )
            except REFUSED as exc:
                error = refusal_message(exc)
    else:
        error = " ".join(e for errs in form.errors.values() for e in errs)
    if error:
        if request.htmx:
            context = _review_context(request, review, comment_form=form)
            context["comment_error"] = error
            return render(request, "approvals/review_detail.html#comments", context, status=422)
        messages.error(request, error)
    if request.htmx:
        return render(request, "approvals/review_detail.html#comments", _review_context(request, review))
    return redirect(review_url(review) + "#comments")


@login_required
@require_POST
def comment_resolve(request: HtmxHttpRequest, slug: str, pk: int) -> HttpResponse:
    workspace = workspace_for_user(request.user, slug)
    comment = selectors.comment_for_user(user=request.user, workspace=workspace, pk=pk)
    try:
        services.comment_resolve(actor=request.user, comment=comment)
    except REFUSED as exc:
        messages.error(request, refusal_message(exc))
    back = request.POST.get("review")
    review = selectors.latest_review_for(variant=comment.variant, pk=parse_id(back))
    if review is None:
        return redirect(variant_url(comment.variant))
    if request.htmx:
        review = selectors.review_for_user(user=request.user, workspace=workspace, pk=review.pk)
        return render(request, "approvals/review_detail.html#comments", _review_context(request, review))
    return redirect(review_url(review) + "#comments")


UNDO_SESSION_KEY = "approvals.undo_decision"


def offer_undo(request: HtmxHttpRequest, decision: Decision, review: Review) -> None:
    """The next page (the queue) shows the decision with an "Undo" button for ``UNDO_SECONDS``."""
    request.session[UNDO_SESSION_KEY] = {
        "pk": decision.pk,
        "slug": review.workspace.slug,
        "text": f"{decision.get_outcome_display()}: {review.variant.draft.title} (variant #{review.variant_id}).",
        "at": decision.created_at.timestamp(),
    }


def undo_offer(request: HtmxHttpRequest) -> dict[str, Any] | None:
    """The pending undo offer, once (popped), while its window is open; else ``None``."""
    offer = request.session.pop(UNDO_SESSION_KEY, None)
    if not isinstance(offer, dict):
        return None
    left = services.UNDO_SECONDS - (timezone.now().timestamp() - float(offer.get("at", 0)))
    if left <= 1:
        messages.success(request, offer.get("text", "Decision recorded."))
        return None
    return {
        "text": offer.get("text", ""),
        "url": reverse("approvals:decision_undo", kwargs={"slug": offer["slug"], "pk": offer["pk"]}),
        "seconds": int(left),
    }


def _decision_get(request: HtmxHttpRequest, slug: str, pk: int) -> Decision:
    workspace = workspace_for_user(request.user, slug)
    return get_object_or_404(
        Decision.objects.select_related("stage__review__workspace"), pk=pk, stage__review__workspace=workspace
    )


@login_required
@require_POST
def decision_undo(request: HtmxHttpRequest, slug: str, pk: int) -> HttpResponse:
    """Undo right after a decision: back to the review, to decide again."""
    decision = _decision_get(request, slug, pk)
    review = decision.stage.review
    try:
        services.decision_undo(actor=request.user, decision=decision)
    except REFUSED as exc:
        messages.error(request, refusal_message(exc))
        return redirect(reverse("approvals:queue"))
    messages.success(
        request, f"Undone: {review.variant.draft.title} (variant #{review.variant_id}) is waiting for a decision again."
    )
    url = review_url(review)
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@login_required
@require_POST
def decision_reopen(request: HtmxHttpRequest, slug: str, pk: int) -> HttpResponse:
    """Reopen a decision made in error (its maker or a workspace admin, before publication)."""
    decision = _decision_get(request, slug, pk)
    review = decision.stage.review
    try:
        services.decision_reopen(actor=request.user, decision=decision, reason=request.POST.get("reason", ""))
    except REFUSED as exc:
        messages.error(request, refusal_message(exc))
    else:
        messages.success(
            request, f"Reopened: the {decision.stage.get_kind_display().lower()} is waiting for a decision again."
        )
    return redirect(review_url(review) + "#decision")
