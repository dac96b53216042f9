"""Publishing pages: start a publication from a review, follow its render, show the result.

Workspace pages under ``/w/<slug>/``; the old ``/reviews/publications/...`` URLs redirect after a
user-scoped lookup (``legacy_*``). Pillow never runs in a request: the worker renders.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from approvals.publishing import selectors, services
from approvals.publishing.forms import PublishForm
from approvals.publishing.models import Publication
from approvals.publishing.tasks import progress_url, publication_render
from approvals.reviews.errors import REFUSED
from approvals.reviews.selectors import review_for_user, variant_for_user
from approvals.reviews.views._common import HtmxHttpRequest, moved, variant_url
from studio.core.errors import refusal_message
from studio.core.permissions import workspace_for_user


def publication_url(publication: Publication) -> str:
    return reverse("publishing:publication_detail", kwargs={"slug": publication.workspace.slug, "pk": publication.pk})


def _go(request: HtmxHttpRequest, url: str) -> HttpResponse:
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@login_required
@require_POST
def publish(request: HtmxHttpRequest, slug: str, pk: int) -> HttpResponse:
    """Check, then render in the worker and show progress."""
    workspace = workspace_for_user(request.user, slug)
    review = review_for_user(user=request.user, workspace=workspace, pk=pk)
    variant = review.variant
    form = PublishForm(request.POST, formats=selectors.formats_for(variant=variant))
    error = ""
    if form.is_valid():
        target_format = form.cleaned_data["target_format"]
        existing = selectors.publication_for(variant=variant, target_format=target_format)
        if existing is not None:
            return _go(request, publication_url(existing))
        try:
            services.publication_request(actor=request.user, variant=variant, target_format=target_format)
        except REFUSED as exc:
            error = refusal_message(exc)
        else:
            variant_pk, format_pk, actor_pk = variant.pk, target_format.pk, request.user.pk
            transaction.on_commit(lambda: publication_render.delay(variant_pk, format_pk, actor_pk))
            return _go(request, progress_url(variant=variant, format_id=target_format.pk))
    else:
        error = "Choose one of this campaign's formats."
    messages.error(request, error)
    return _go(request, reverse("approvals:review_detail", kwargs={"slug": workspace.slug, "pk": review.pk}))


@login_required
@require_GET
def publication_progress(request: HtmxHttpRequest, slug: str, variant_id: int, format_id: int) -> HttpResponse:
    """Polled while the worker renders; redirects to the publication once it exists."""
    workspace = workspace_for_user(request.user, slug)
    variant = variant_for_user(user=request.user, workspace=workspace, pk=variant_id)
    target_format = selectors.format_for(variant=variant, pk=format_id)
    publication = selectors.publication_for(variant=variant, target_format=target_format)
    if publication is not None:
        return _go(request, publication_url(publication))
    here = progress_url(variant=variant, format_id=format_id)
    context = {
        "variant": variant,
        "target_format": target_format,
        "failure": selectors.publication_failure_for(user=request.user, url=here),
        "here": here,
        "review": variant.reviews.order_by("-submitted_at").first(),
    }
    if request.htmx:
        return render(request, "publishing/publication_progress.html#progress", context)
    return render(request, "publishing/publication_progress.html", context)


@login_required
@require_GET
def publication_detail(request: HtmxHttpRequest, slug: str, pk: int) -> HttpResponse:
    workspace = workspace_for_user(request.user, slug)
    publication = selectors.publication_for_user(user=request.user, workspace=workspace, pk=pk)
    try:
        url = default_storage.url(publication.file.name)
    except Exception:  # a storage outage must not break the page
        url = ""
    absolute = request.build_absolute_uri(url) if url.startswith("/") else url
    return render(
        request,
        "publishing/publication_detail.html",
        {
            "publication": publication,
            "variant": publication.variant,
            "file_url": absolute,
            "variant_url": variant_url(publication.variant),
        },
    )


# --- the URLs before the workspace scheme --------------------------------------------------------


@login_required
def legacy_publish(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    review = review_for_user(user=request.user, pk=pk)
    return moved(request, reverse("publishing:publish", args=[review.workspace.slug, review.pk]))


@login_required
def legacy_publication_progress(request: HtmxHttpRequest, variant_id: int, format_id: int) -> HttpResponse:
    variant = variant_for_user(user=request.user, pk=variant_id)
    return moved(request, progress_url(variant=variant, format_id=format_id))


@login_required
def legacy_publication_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return moved(request, publication_url(selectors.publication_for_user(user=request.user, pk=pk)))
