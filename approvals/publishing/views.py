"""Publishing pages: follow a publication's render, show the result, retract or retry it, serve its file
(starting a publication, from the studio's publish page or the review page's panel: ``publish_views``).

Workspace pages under ``/w/<slug>/``; the old ``/reviews/publications/...`` URLs redirect after a
user-scoped lookup (``legacy_*``). Pillow never runs in a request: the worker renders.
"""

from __future__ import annotations

import mimetypes

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from approvals.publishing import retraction, selectors
from approvals.publishing.destinations import DestinationKind, DestinationUnavailable, RetractMode
from approvals.publishing.forms import RetractForm
from approvals.publishing.models import Publication, PublicationStatus
from approvals.publishing.starting import QUEUE_UNREACHABLE, publication_start
from approvals.publishing.tasks import progress_url
from approvals.reviews.errors import REFUSED, refusal_status
from approvals.reviews.selectors import review_for_user, variant_for_user
from approvals.reviews.views._common import HtmxHttpRequest, moved, variant_url
from studio.core.errors import refusal_message
from studio.core.permissions import can_publish, workspace_for_user


def publication_url(publication: Publication) -> str:
    return reverse("publishing:publication_detail", kwargs={"slug": publication.workspace.slug, "pk": publication.pk})


def go(request: HtmxHttpRequest, url: str) -> HttpResponse:
    """Move on: a client-side redirect for htmx, else a 302."""
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@login_required
@require_GET
def publication_progress(request: HtmxHttpRequest, slug: str, variant_id: int, format_id: int) -> HttpResponse:
    """Polled while the worker renders; redirects to the publication once it exists."""
    workspace = workspace_for_user(request.user, slug)
    variant = variant_for_user(user=request.user, workspace=workspace, pk=variant_id)
    target_format = selectors.format_for(variant=variant, pk=format_id)
    publication = selectors.publication_for(variant=variant, target_format=target_format)
    if publication is not None and publication.status != PublicationStatus.PUBLISHING:
        return go(request, publication_url(publication))
    here = progress_url(variant=variant, format_id=format_id)
    context = {
        "variant": variant,
        "target_format": target_format,
        "failure": selectors.publication_failure_for(user=request.user, url=here),
        "here": here,
    }
    if request.htmx:
        return render(request, "publishing/publication_progress.html#progress", context)
    return render(request, "publishing/publication_progress.html", context)


@login_required
@require_GET
def publication_detail(request: HtmxHttpRequest, slug: str, pk: int) -> HttpResponse:
    workspace = workspace_for_user(request.user, slug)
    publication = selectors.publication_for_user(user=request.user, workspace=workspace, pk=pk)
    return render(request, "publishing/publication_detail.html", _detail_context(request, publication))


def _detail_context(request: HtmxHttpRequest, publication: Publication, retract_form=None) -> dict:
    live = publication.status == PublicationStatus.PUBLISHED
    public_url = publication.url if live else ""
    if live and not public_url and publication.destination_id is None:
        try:
            public_url = default_storage.url(publication.file.name)
        except Exception:  # a storage outage must not break the page
            public_url = ""
    absolute = request.build_absolute_uri(public_url) if public_url.startswith("/") else public_url
    may_publish = can_publish(request.user, publication.workspace)
    has_file = bool(publication.file.name) and publication.status in (
        PublicationStatus.PUBLISHED,
        PublicationStatus.RETRACTED,
    )
    return {
        "publication": publication,
        "variant": publication.variant,
        "file_url": absolute,
        # members see the rendition through the authorised view (signed, short-lived on S3/Azure)
        "preview_url": reverse("publishing:publication_file", args=[publication.workspace.slug, publication.pk])
        if has_file
        else "",
        "variant_url": variant_url(publication.variant),
        "can_retract": live and may_publish,
        "can_retry": publication.status == PublicationStatus.FAILED and may_publish,
        "retract_form": retract_form or (RetractForm() if live and may_publish else None),
    }


@login_required
@require_POST
def publication_retract(request: HtmxHttpRequest, slug: str, pk: int) -> HttpResponse:
    """Withdraw a publication with a reason; the destination object goes first (see the service)."""
    workspace = workspace_for_user(request.user, slug)
    publication = selectors.publication_for_user(user=request.user, workspace=workspace, pk=pk)
    form = RetractForm(request.POST)
    if form.is_valid():
        try:
            retraction.publication_retract(
                actor=request.user,
                publication=publication,
                reason=form.cleaned_data["reason"],
                withdraw_approval=form.cleaned_data["withdraw_approval"],
            )
        except REFUSED as exc:
            messages.error(request, refusal_message(exc))
            status = refusal_status(exc)
        else:
            messages.success(request, "The publication was retracted.")
            return go(request, publication_url(publication))
    else:
        status = 422
    context = _detail_context(request, publication, retract_form=form)
    return render(request, "publishing/publication_detail.html", context, status=status)


@login_required
@require_POST
def publication_retry(request: HtmxHttpRequest, slug: str, pk: int) -> HttpResponse:
    """Publish a failed publication again, to the same destination."""
    workspace = workspace_for_user(request.user, slug)
    publication = selectors.publication_for_user(user=request.user, workspace=workspace, pk=pk)
    if publication.status != PublicationStatus.FAILED:
        return go(request, publication_url(publication))
    variant, target_format = publication.variant, publication.target_format
    if target_format is None:
        messages.error(request, "This format was removed from the campaign, so it cannot be published again.")
        return go(request, publication_url(publication))
    try:
        started = publication_start(
            actor=request.user, variant=variant, target_format=target_format, destination=publication.destination
        )
    except REFUSED as exc:
        messages.error(request, refusal_message(exc))
        return go(request, publication_url(publication))
    if started.existing is not None:  # published (or retried) meanwhile
        return go(request, publication_url(started.existing))
    if started.queue_unreachable:
        messages.warning(request, QUEUE_UNREACHABLE)
    return go(request, progress_url(variant=variant, format_id=target_format.pk))


@login_required
@require_GET
def publication_file(request: HtmxHttpRequest, slug: str, pk: int) -> HttpResponse:
    """The rendition for members: streamed from local storage, or a redirect to a short-lived signed URL
    on S3/Azure (private destinations, retracted objects)."""
    workspace = workspace_for_user(request.user, slug)
    publication = selectors.publication_for_user(user=request.user, workspace=workspace, pk=pk)
    if not publication.file.name or publication.status not in (
        PublicationStatus.PUBLISHED,
        PublicationStatus.RETRACTED,
    ):
        raise Http404("No file")
    destination = publication.destination
    deleted = destination is not None and destination.retract_mode == RetractMode.DELETE
    if publication.status == PublicationStatus.RETRACTED and deleted:
        raise Http404("The object was deleted when the publication was retracted")
    if destination is not None and destination.kind != DestinationKind.LOCAL:
        try:
            signed = destination.signed_url_for(publication.file.name)
        except DestinationUnavailable as exc:
            raise Http404("The destination is not available") from exc
        response: HttpResponse = HttpResponseRedirect(signed)
        response["Cache-Control"] = "private, no-store"
        return response
    try:
        handle = publication.file.storage.open(publication.file.name, "rb")
    except (FileNotFoundError, DestinationUnavailable) as exc:
        raise Http404("No file") from exc
    response = FileResponse(handle, content_type=mimetypes.guess_type(publication.file.name)[0] or "image/png")
    response["Cache-Control"] = "private, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    return response


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
