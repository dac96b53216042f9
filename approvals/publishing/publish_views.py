"""Starting a publication from a page: the studio's publish page for a variant (where marketers publish),
and the "Publish" panel of the review page (where a reviewer who may publish can do it in place).

Both post the same destination and format form through ``publish_submit``: the checks and the render's
outbox row are ``starting.publication_start``'s. A refusal is shown in its own words on the page it came
from (never a 500); a broker that is down gives the calm "queue unreachable" notice and the render starts
when it is back.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from approvals.publishing import selectors
from approvals.publishing.forms import PublishForm
from approvals.publishing.panels import variant_publish_context
from approvals.publishing.starting import QUEUE_UNREACHABLE, publication_start
from approvals.publishing.tasks import progress_url
from approvals.publishing.views import go, publication_url
from approvals.reviews.errors import REFUSED, refusal_status
from approvals.reviews.selectors import review_for_user, variant_for_user
from approvals.reviews.views._common import HtmxHttpRequest
from studio.core.errors import refusal_message
from studio.core.permissions import workspace_for_user
from studio.generation.models import Variant

PAGE = "publishing/variant_publish.html"


@dataclass
class PublishAnswer:
    """Where to go after a publish request (``url``), or why it was refused (``error``, ``status``)."""

    form: PublishForm
    url: str = ""
    error: str = ""
    status: int = 200


def publish_submit(request: HtmxHttpRequest, variant: Variant) -> PublishAnswer:
    """Check the posted form and start the publication; the progress page (or the publication already
    live) on success, else the refusal's words and status."""
    form = PublishForm(
        request.POST,
        formats=selectors.formats_for(variant=variant),
        destinations=selectors.destinations_for(campaign_id=variant.draft.campaign_id),
    )
    if not form.is_valid():
        field = "destination" if "target_format" not in form.errors else "format"
        return PublishAnswer(form=form, error=f"Choose one of this campaign's {field}s.", status=422)
    target_format = form.cleaned_data["target_format"]
    try:
        started = publication_start(
            actor=request.user,
            variant=variant,
            target_format=target_format,
            destination=form.cleaned_data.get("destination"),
        )
    except REFUSED as exc:
        return PublishAnswer(form=form, error=refusal_message(exc), status=refusal_status(exc))
    if started.existing is not None:
        return PublishAnswer(form=form, url=publication_url(started.existing))
    if started.queue_unreachable:  # recorded and committed: the sweeper sends it when the broker is back
        messages.warning(request, QUEUE_UNREACHABLE)
    return PublishAnswer(form=form, url=progress_url(variant=variant, format_id=target_format.pk))


@login_required
@require_http_methods(["GET", "POST"])
def variant_publish(request: HtmxHttpRequest, slug: str, pk: int) -> HttpResponse:
    """The studio's publish page: the image, its publications so far, each format's crop and safe zone,
    and the destination and format form. A refused post shows its message here (an htmx post gets the
    form section back, which the page swaps in)."""
    workspace = workspace_for_user(request.user, slug)
    variant = variant_for_user(user=request.user, workspace=workspace, pk=pk)
    if request.method == "GET":
        return render(request, PAGE, variant_publish_context(request.user, variant))
    answer = publish_submit(request, variant)
    if answer.url:
        return go(request, answer.url)
    context = {**variant_publish_context(request.user, variant, form=answer.form), "publish_error": answer.error}
    template = f"{PAGE}#publish-form" if request.htmx else PAGE
    return render(request, template, context, status=answer.status)


@login_required
@require_POST
def publish(request: HtmxHttpRequest, slug: str, pk: int) -> HttpResponse:
    """The review page's "Publish" panel posts here; a refusal goes back to the review with its message."""
    workspace = workspace_for_user(request.user, slug)
    review = review_for_user(user=request.user, workspace=workspace, pk=pk)
    answer = publish_submit(request, review.variant)
    if answer.url:
        return go(request, answer.url)
    messages.error(request, answer.error)
    return go(request, reverse("approvals:review_detail", kwargs={"slug": workspace.slug, "pk": review.pk}))
