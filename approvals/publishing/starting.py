"""Starting a publication: the request's checks, then the render handed to the worker through the core
outbox (``studio.core.outbox``), so a broker that is down delays the render instead of losing it.

The outbox row is written in the same transaction as the request's state change (a failed publication
marked "publishing" again), published to the broker after the commit, and re-sent by the studio's sweeper
when the broker did not take it. ``publication_render`` is idempotent, so a second delivery does nothing.
The studio's publish page, the review page's panel, the Retry button, the API and a run's publish all
start renders here."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from approvals.publishing import selectors
from approvals.publishing.destination_writes import publication_retry_start
from approvals.publishing.models import Destination, Publication, PublicationStatus
from approvals.publishing.services import publication_request
from studio.core.outbox import PendingPublish, outbox_enqueue
from studio.generation.models import CampaignFormat, Variant

# ``approvals.publishing.tasks.publication_render``: the name messages are sent under never changes.
RENDER_TASK = "approvals.tasks.publication_render"
QUEUE_UNREACHABLE = "The queue is unreachable; the rendition will be made when it is back."


def render_enqueue(
    *, variant: Variant, target_format: CampaignFormat, actor, destination: Destination | None = None, workspace=None
) -> PendingPublish:
    """Record one render in the outbox, in the caller's transaction (published after its commit).
    ``workspace`` (the variant's, looked up when not given) is whose audit chain records a re-send."""
    args = [variant.pk, target_format.pk, actor.pk]
    if destination is not None:  # the old 3-argument message otherwise
        args.append(destination.pk)
    return outbox_enqueue(RENDER_TASK, args, workspace=workspace or variant.workspace)


@dataclass
class PublishStarted:
    """What ``publication_start`` did: ``existing`` when the format is already published (or being
    published again), nothing queued; else the render's outbox row (``pending``)."""

    existing: Publication | None = None
    pending: PendingPublish | None = None

    @property
    def queued(self) -> bool:
        return self.pending is not None

    @property
    def queue_unreachable(self) -> bool:
        """After the commit: the broker was down, so the render starts when it is back (the sweeper
        re-sends the row)."""
        return self.pending is not None and self.pending.unreachable


def publication_start(
    *, actor, variant: Variant, target_format: CampaignFormat, destination: Destination | None = None
) -> PublishStarted:
    """Ask to publish ``variant`` in ``target_format`` now. A live publication is returned as it is; a
    refusal is recorded and raised (``publication_request``); otherwise a failed publication is marked
    "publishing" again and the render is recorded in the outbox, both in one transaction."""
    existing = selectors.publication_for(variant=variant, target_format=target_format)
    if existing is not None and existing.status != PublicationStatus.FAILED:
        return PublishStarted(existing=existing)
    # Outside the transaction below: a refusal is recorded in a transaction of its own, then raised.
    publication_request(actor=actor, variant=variant, target_format=target_format)
    with transaction.atomic():
        if existing is not None:  # a failed publication is published into (its page keeps its address)
            publication_retry_start(publication=existing)
        pending = render_enqueue(variant=variant, target_format=target_format, actor=actor, destination=destination)
    return PublishStarted(pending=pending)
