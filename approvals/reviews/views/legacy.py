"""The review URLs from before the workspace-scoped scheme (``/reviews/<pk>/`` ...). Each looks the
object up for the user first, so it answers 404 exactly where the new URL would, then redirects:
301 for pages, 308 for form posts (see ``moved``)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import reverse

from approvals.reviews import selectors
from approvals.reviews.views._common import HtmxHttpRequest, moved


@login_required
def review_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    review = selectors.review_for_user(user=request.user, pk=pk)
    return moved(request, reverse("approvals:review_detail", args=[review.workspace.slug, review.pk]))


@login_required
def review_decide(request: HtmxHttpRequest, pk: int, stage_pk: int) -> HttpResponse:
    review = selectors.review_for_user(user=request.user, pk=pk)
    return moved(request, reverse("approvals:review_decide", args=[review.workspace.slug, review.pk, stage_pk]))


@login_required
def comment_add(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    review = selectors.review_for_user(user=request.user, pk=pk)
    return moved(request, reverse("approvals:comment_add", args=[review.workspace.slug, review.pk]))


@login_required
def comment_resolve(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    comment = selectors.comment_for_user(user=request.user, pk=pk)
    return moved(request, reverse("approvals:comment_resolve", args=[comment.variant.workspace.slug, comment.pk]))


@login_required
def variant_submit(request: HtmxHttpRequest, variant_id: int) -> HttpResponse:
    variant = selectors.variant_for_user(user=request.user, pk=variant_id)
    return moved(request, reverse("approvals:variant_submit", args=[variant.workspace.slug, variant.pk]))


@login_required
def request_override(request: HtmxHttpRequest, variant_id: int) -> HttpResponse:
    variant = selectors.variant_for_user(user=request.user, pk=variant_id)
    return moved(request, reverse("approvals:request_override", args=[variant.workspace.slug, variant.pk]))


@login_required
def inbox(request: HtmxHttpRequest) -> HttpResponse:
    return moved(request, reverse("approvals:inbox"))


@login_required
def inbox_mark_read(request: HtmxHttpRequest) -> HttpResponse:
    return moved(request, reverse("approvals:inbox_mark_read"))
