"""Review pages: the queue, one review, decisions, comments, submit/override, publishing, the inbox.

Thin views: parse with a form, call a selector or service, render. Every refusal becomes a message in
plain words (never a 500); objects of other workspaces are 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseClientRefresh
from django_htmx.middleware import HtmxDetails

from approvals.publishing.models import Publication
from approvals.reviews import selectors, services
from approvals.reviews.forms import (
    BulkApproveForm,
    CommentForm,
    DecisionForm,
    OverrideForm,
    PublishForm,
    QueueFilterForm,
)
from approvals.reviews.models import DecisionOutcome, Review, ReviewStage, StageStatus
from studio.core.models import Notification, Role
from studio.core.permissions import has_role
from studio.generation.models import Variant, VariantStatus
from studio.safety.models import SafetyVerdict


class HtmxHttpRequest(HttpRequest):
    """Typing only: django-htmx's middleware sets ``request.htmx``."""

    htmx: HtmxDetails


PAGE_SIZE = 25


def _refusal(exc: Exception) -> str:
    return services.error_message(exc)


def _variant_url(variant: Variant) -> str:
    return reverse("studio:variant", kwargs={"slug": variant.workspace.slug, "pk": variant.pk})


# --- queue ---------------------------------------------------------------------------------------


def _queue_context(request: HtmxHttpRequest) -> dict[str, Any]:
    form = QueueFilterForm(request.GET or None, user=request.user)
    filters = form.filters() if request.GET else {}
    page_obj = Paginator(selectors.review_queue(user=request.user, filters=filters), PAGE_SIZE).get_page(
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
    }


@login_required
@require_GET
def queue(request: HtmxHttpRequest) -> HttpResponse:
    context = _queue_context(request)
    if request.htmx and not request.htmx.boosted:
        return render(request, "approvals/queue.html#queue", context)
    return render(request, "approvals/queue.html", context)


@login_required
@require_POST
def bulk_approve(request: HtmxHttpRequest) -> HttpResponse:
    """Approve several "allow" items at once. Every item is re-checked by the service; each gets its
    own result line, so one refusal never hides the others."""
    form = BulkApproveForm(request.POST)
    results: list[dict[str, Any]] = []
    if form.is_valid():
        items = form.cleaned_data["items"]
        stages = {
            s.pk: s
            for s in ReviewStage.objects.filter(
                pk__in=[pk for pk, _sha in items],
                review__workspace__memberships__user=request.user,
            )
            .select_related("review__variant__draft")
            .distinct()
        }
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
                services.review_decide(
                    actor=request.user, stage=stage, outcome=DecisionOutcome.APPROVE, expected_sha256=sha
                )
            except (services.WorkflowError, PermissionDenied) as exc:
                results.append({"label": label, "ok": False, "message": _refusal(exc)})
            else:
                results.append({"label": label, "ok": True, "message": "Approved."})
    elif not request.htmx:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    approved = sum(r["ok"] for r in results)
    summary = f"Approved {approved} of {len(results)} selected." if results else ""
    if request.htmx:
        context = _queue_context(request)
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
    return redirect("approvals:queue")


# --- one review ----------------------------------------------------------------------------------


def _actionable_stage(review: Review, user) -> ReviewStage | None:
    """The pending stage this user could decide now (the view only offers it; the service decides)."""
    if review.status != "open":
        return None
    for stage in review.stages.all():
        if stage.status == StageStatus.PENDING and selectors.can_decide_kind(user, review.workspace, stage.kind):
            return stage
    return None


def _review_context(
    request: HtmxHttpRequest,
    review: Review,
    *,
    decision_form: DecisionForm | None = None,
    comment_form: CommentForm | None = None,
    publish_form: PublishForm | None = None,
    decision_error: str = "",
) -> dict[str, Any]:
    from studio.safety.selectors import safety_panel_context

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
    formats = selectors.formats_for(variant=variant)
    approved = selectors.approved_review_for(variant=variant)
    publishable = (
        variant.status in (VariantStatus.APPROVED, VariantStatus.PUBLISHED)
        and approved is not None
        and approved.variant_sha256 == variant.sha256
        and selectors.can_publish(request.user, review.workspace)
    )
    if publishable and publish_form is None:
        publish_form = PublishForm(formats=formats)
    latest = variant.reviews.order_by("-submitted_at", "-pk").values_list("pk", flat=True).first()
    # The in-image copy this locale's image should carry, so the reviewer can check it against the pixels.
    locale_copy = variant.job.draft_version.locale_copy if variant.locale and variant.job.draft_version_id else {}
    expected_copy = locale_copy.get(variant.locale, "") if isinstance(locale_copy, dict) else ""
    return {
        "review": review,
        "variant": variant,
        "workspace": review.workspace,
        "job": variant.job,
        "stages": list(review.stages.all()),
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
        "publish_form": publish_form if publishable else None,
        "publications": list(selectors.publications_for(variant=variant)),
        "is_latest_review": latest == review.pk,
        "variant_url": _variant_url(variant),
        "now": timezone.now(),
        **safety_panel_context(variant=variant),
    }


@login_required
@require_GET
def review_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    review = selectors.review_for_user(user=request.user, pk=pk)
    return render(request, "approvals/review_detail.html", _review_context(request, review))


@login_required
@require_POST
def review_decide(request: HtmxHttpRequest, pk: int, stage_pk: int) -> HttpResponse:
    review = selectors.review_for_user(user=request.user, pk=pk)
    stage = get_object_or_404(ReviewStage, pk=stage_pk, review=review)
    comments = selectors.comments_for(variant=review.variant)
    form = DecisionForm(request.POST, comments=comments)
    status = 422
    error = ""
    if form.is_valid():
        data = form.cleaned_data
        try:
            decision = services.review_decide(
                actor=request.user,
                stage=stage,
                outcome=data["outcome"],
                note=data["note"],
                expected_sha256=data["expected_sha256"],
                comment_ids=data["comment_ids"],
            )
        except services.AlreadyDecided as exc:
            error, status = exc.message, 409
        except services.StaleReview as exc:
            error, status = exc.message, 409
        except (services.WorkflowError, PermissionDenied) as exc:
            error = _refusal(exc)
            status = 403 if isinstance(exc, PermissionDenied) else 422
        else:
            messages.success(
                request,
                f"{decision.get_outcome_display()}: {review.variant.draft.title} (variant #{review.variant_id}).",
            )
            url = reverse("approvals:queue")
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    else:
        error = "Please check the decision: " + " ".join(e for errs in form.errors.values() for e in errs)
    # Re-read so the page shows the state that refused the decision (e.g. who decided first).
    review = selectors.review_for_user(user=request.user, pk=pk)
    keep_form = form if status == 422 else None
    context = _review_context(request, review, decision_form=keep_form, decision_error=error)
    template = "approvals/review_detail.html#decision-panel" if request.htmx else "approvals/review_detail.html"
    return render(request, template, context, status=status)


# --- comments ------------------------------------------------------------------------------------


@login_required
@require_POST
def comment_add(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    review = selectors.review_for_user(user=request.user, pk=pk)
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
            except (services.WorkflowError, PermissionDenied) as exc:
                error = _refusal(exc)
    else:
        error = " ".join(e for errs in form.errors.values() for e in errs)
    if error:
        if request.htmx:
            context = _review_context(request, review, comment_form=form)
            context["comment_error"] = error
            return render(request, "approvals/review_detail.html#comments", context, status=422)
        messages.error(request, error)
    url = reverse("approvals:review_detail", kwargs={"pk": review.pk}) + "#comments"
    if request.htmx:
        return render(request, "approvals/review_detail.html#comments", _review_context(request, review))
    return redirect(url)


@login_required
@require_POST
def comment_resolve(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    comment = selectors.comment_for_user(user=request.user, pk=pk)
    try:
        services.comment_resolve(actor=request.user, comment=comment)
    except (services.WorkflowError, PermissionDenied) as exc:
        messages.error(request, _refusal(exc))
    back = request.POST.get("review")
    review = None
    if back and back.isdigit():
        review = Review.objects.filter(pk=int(back), variant=comment.variant_id).first()
    if review is None:
        review = comment.variant.reviews.order_by("-submitted_at").first()
    if review is None:
        return redirect(_variant_url(comment.variant))
    if request.htmx:
        review = selectors.review_for_user(user=request.user, pk=review.pk)
        return render(request, "approvals/review_detail.html#comments", _review_context(request, review))
    return redirect(reverse("approvals:review_detail", kwargs={"pk": review.pk}) + "#comments")


# --- submit & override ---------------------------------------------------------------------------


@login_required
@require_POST
def variant_submit(request: HtmxHttpRequest, variant_id: int) -> HttpResponse:
    variant = selectors.variant_for_user(user=request.user, pk=variant_id)
    review, error = None, ""
    try:
        review = services.variant_submit(actor=request.user, variant=variant)
    except (services.WorkflowError, PermissionDenied) as exc:
        error = _refusal(exc)
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
    return redirect(_variant_url(variant))


@login_required
@require_POST
def request_override(request: HtmxHttpRequest, variant_id: int) -> HttpResponse:
    variant = selectors.variant_for_user(user=request.user, pk=variant_id)
    form = OverrideForm(request.POST)
    review, error = None, ""
    if form.is_valid():
        try:
            review = services.variant_request_override(
                actor=request.user, variant=variant, reason=form.cleaned_data["reason"]
            )
        except (services.WorkflowError, PermissionDenied) as exc:
            error = _refusal(exc)
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
    return redirect(_variant_url(variant))


# --- publishing ----------------------------------------------------------------------------------


@login_required
@require_POST
def publish(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Check, then render in the worker (Pillow never runs in a request) and show progress."""
    from django.db import transaction

    from approvals.reviews.tasks import publication_render

    review = selectors.review_for_user(user=request.user, pk=pk)
    variant = review.variant
    form = PublishForm(request.POST, formats=selectors.formats_for(variant=variant))
    error = ""
    if form.is_valid():
        target_format = form.cleaned_data["target_format"]
        existing = Publication.objects.filter(variant=variant, target_format=target_format).first()
        if existing is not None:
            url = reverse("approvals:publication_detail", kwargs={"pk": existing.pk})
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
        try:
            services.publication_check(actor=request.user, variant=variant, target_format=target_format)
        except (services.WorkflowError, PermissionDenied) as exc:
            error = _refusal(exc)
        else:
            variant_pk, format_pk, actor_pk = variant.pk, target_format.pk, request.user.pk
            transaction.on_commit(lambda: publication_render.delay(variant_pk, format_pk, actor_pk))
            url = reverse(
                "approvals:publication_progress", kwargs={"variant_id": variant.pk, "format_id": target_format.pk}
            )
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    else:
        error = "Choose one of this campaign's formats."
    messages.error(request, error)
    url = reverse("approvals:review_detail", kwargs={"pk": review.pk})
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@login_required
@require_GET
def publication_progress(request: HtmxHttpRequest, variant_id: int, format_id: int) -> HttpResponse:
    """Polled while the worker renders; redirects to the publication once it exists."""
    variant = selectors.variant_for_user(user=request.user, pk=variant_id)
    target_format = get_object_or_404(selectors.formats_for(variant=variant), pk=format_id)
    publication = Publication.objects.filter(variant=variant, target_format=target_format).first()
    if publication is not None:
        url = reverse("approvals:publication_detail", kwargs={"pk": publication.pk})
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    here = reverse("approvals:publication_progress", kwargs={"variant_id": variant.pk, "format_id": format_id})
    failure = (
        Notification.objects.filter(user=request.user, kind="publication.failed", url=here, read_at__isnull=True)
        .order_by("-created_at")
        .first()
    )
    context = {
        "variant": variant,
        "target_format": target_format,
        "failure": failure,
        "here": here,
        "review": variant.reviews.order_by("-submitted_at").first(),
    }
    if request.htmx:
        return render(request, "approvals/publication_progress.html#progress", context)
    return render(request, "approvals/publication_progress.html", context)


@login_required
@require_GET
def publication_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    publication = selectors.publication_for_user(user=request.user, pk=pk)
    try:
        url = default_storage.url(publication.file.name)
    except Exception:  # a storage outage must not break the page
        url = ""
    absolute = request.build_absolute_uri(url) if url.startswith("/") else url
    return render(
        request,
        "approvals/publication_detail.html",
        {
            "publication": publication,
            "variant": publication.variant,
            "file_url": absolute,
            "variant_url": _variant_url(publication.variant),
        },
    )


# --- inbox ---------------------------------------------------------------------------------------


@login_required
@require_GET
def inbox(request: HtmxHttpRequest) -> HttpResponse:
    page_obj = Paginator(selectors.notifications_for(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    unread = Notification.objects.filter(user=request.user, read_at__isnull=True).count()
    return render(request, "approvals/inbox.html", {"page_obj": page_obj, "unread": unread})


@login_required
@require_POST
def inbox_mark_read(request: HtmxHttpRequest) -> HttpResponse:
    raw = request.POST.getlist("notification")
    ids = [int(v) for v in raw if v.isdigit()] if raw else None
    count = services.notifications_mark_read(actor=request.user, ids=ids)
    if request.htmx:
        return HttpResponseClientRefresh()
    messages.success(request, f"Marked {count} notification{'s' if count != 1 else ''} as read.")
    return redirect("approvals:inbox")
