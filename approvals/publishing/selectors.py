"""Publishing reads. Lookups take the user (and the workspace of the URL) and answer 404 for missing
and forbidden objects alike."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from approvals.publishing.models import Destination, Publication, PublicationStatus
from studio.core.models import Membership, Notification, Workspace
from studio.generation.models import CampaignFormat, Variant

FAILED_KIND = "publication.failed"  # the notification a refused render leaves for the progress page


def publication_for_user(*, user, pk: int, workspace: Workspace | None = None) -> Publication:
    """One publication with what its page shows; ``workspace=None`` looks across the user's workspaces
    (the old URL redirects through it)."""
    visible = Q(workspace__in=Membership.objects.filter(user=user).values("workspace"))
    if workspace is not None:
        visible &= Q(workspace=workspace)
    publication = (
        Publication.objects.select_related("workspace", "variant__draft__campaign", "target_format", "published_by")
        .filter(visible, pk=pk)
        .first()
    )
    if publication is None:
        raise Http404("No such publication")
    return publication


def publication_for(*, variant: Variant | int, target_format: CampaignFormat | int) -> Publication | None:
    """The live (published or failed) publication of ``variant`` in ``target_format``, if any (at most
    one; retracted ones are history)."""
    return (
        Publication.objects.filter(variant=variant, target_format=target_format)
        .exclude(status=PublicationStatus.RETRACTED)
        .first()
    )


def formats_for(*, variant: Variant) -> QuerySet[CampaignFormat]:
    return CampaignFormat.objects.filter(campaign_id=variant.draft.campaign_id).order_by("name")


def format_for(*, variant: Variant, pk: int) -> CampaignFormat:
    target_format = formats_for(variant=variant).filter(pk=pk).first()
    if target_format is None:
        raise Http404("No such format")
    return target_format


def publications_for(*, variant: Variant) -> QuerySet[Publication]:
    return variant.publications.select_related("target_format").order_by("-created_at")


def publication_failure_for(*, user, url: str) -> Notification | None:
    """The unread "publishing failed" notice the worker left for this progress page, if any."""
    return (
        Notification.objects.filter(user=user, kind=FAILED_KIND, url=url, read_at__isnull=True)
        .order_by("-created_at")
        .first()
    )


def destinations_for(*, campaign_id: int) -> QuerySet[Destination]:
    """A campaign's destinations, the default first."""
    return Destination.objects.filter(campaign_id=campaign_id).order_by("-is_default", "name")
