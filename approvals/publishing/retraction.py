"""Retract: a publisher withdraws a publication, with a reason.

The object leaves its destination first (deleted, or moved under the destination's retracted prefix),
then the publication is marked retracted and audited in one transaction (the webhook learns of it
from the audit event). If the destination is down nothing changes and the publisher is told so: a
publication is never marked retracted while its object is still public.

Withdrawing the approval with it marks the review "withdrawn", so publishing this version again, in any
format, needs a new decision.
"""

from __future__ import annotations

import logging

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from approvals.publishing import events
from approvals.publishing.destination_writes import publication_storage
from approvals.publishing.destinations import DestinationUnavailable, RetractMode
from approvals.publishing.errors import NotRetractable, PublicationFailed
from approvals.publishing.models import Publication, PublicationStatus
from approvals.reviews.models import Review, ReviewStatus
from approvals.reviews.services import lock_variant
from studio.core.permissions import RoleRequired, can_publish

__all__ = ["RETRACTED_PREFIX", "publication_retract"]

logger = logging.getLogger(__name__)

RETRACTED_PREFIX = "retracted/"  # studio storage keeps retracted renditions here (not served publicly)
MAX_REASON = 1000


def _check(*, actor, publication: Publication, reason: str) -> None:
    workspace = publication.workspace
    if not can_publish(actor, workspace):
        raise RoleRequired(f"Only a marketer, brand reviewer or admin can retract images in {workspace.name}.")
    if publication.status == PublicationStatus.RETRACTED:
        raise NotRetractable("This publication was already retracted.")
    if publication.status != PublicationStatus.PUBLISHED:
        raise NotRetractable("Only a published rendition can be retracted; this one was never published.")
    if not reason.strip():
        raise NotRetractable("Say why the publication is retracted; the reason goes into the audit log.")
    if len(reason) > MAX_REASON:
        raise NotRetractable(f"Keep the reason under {MAX_REASON} characters.")


def _remove(publication: Publication) -> tuple[str, str]:
    """Take the object out of public reach: ("deleted", key) or ("moved", new key). A missing source
    counts as done (a concurrent retract or a redelivered request got there first)."""
    destination = publication.destination
    key = publication.file.name
    mode = destination.retract_mode if destination is not None else RetractMode.MOVE
    try:
        storage = publication_storage(destination)
        if mode == RetractMode.DELETE:
            storage.delete(key)
            return "deleted", key
        target = destination.retracted_key_for(key) if destination is not None else RETRACTED_PREFIX + key
        if storage.exists(key):
            with storage.open(key, "rb") as handle:
                data = handle.read()
            if not storage.exists(target):
                target = storage.save(target, ContentFile(data))
            storage.delete(key)
        return "moved", target
    except DestinationUnavailable as exc:
        raise PublicationFailed(f"{exc} The publication is still live.") from exc
    except Exception as exc:
        logger.warning("Retracting publication %s failed: %s", publication.pk, type(exc).__name__)
        label = f'"{destination.name}"' if destination is not None else "the studio's storage"
        raise PublicationFailed(
            f"The object could not be removed from {label}; nothing was retracted and the publication is "
            "still live. Try again when the destination is back."
        ) from exc


def publication_retract(
    *, actor, publication: Publication, reason: str, withdraw_approval: bool = False
) -> Publication:
    """Withdraw ``publication``: remove its object, mark it retracted, audit it (one event)."""
    reason = (reason or "").strip()
    _check(actor=actor, publication=publication, reason=reason)
    removal, key = _remove(publication)
    return _record(
        actor=actor,
        publication_id=publication.pk,
        reason=reason,
        removal=removal,
        key=key,
        withdraw_approval=withdraw_approval,
    )


@transaction.atomic
def _record(*, actor, publication_id: int, reason: str, removal: str, key: str, withdraw_approval: bool) -> Publication:
    publication = Publication.objects.select_related("workspace", "destination", "target_format").get(pk=publication_id)
    lock_variant(publication.variant_id)  # lock order: the variant, then its reviews and publications
    publication = (
        Publication.objects.select_for_update(of=("self",), no_key=True)
        .select_related("workspace", "destination", "target_format")
        .get(pk=publication_id)
    )
    if publication.status == PublicationStatus.RETRACTED:
        return publication  # a concurrent retract recorded it
    _check(actor=actor, publication=publication, reason=reason)
    if withdraw_approval:
        Review.objects.filter(pk=publication.review_id, status=ReviewStatus.APPROVED).update(
            status=ReviewStatus.WITHDRAWN
        )
    publication.status = PublicationStatus.RETRACTED
    publication.retracted_at = timezone.now()
    publication.retracted_by = actor
    publication.retraction_reason = reason
    publication.approval_withdrawn = withdraw_approval
    if removal == "moved":
        publication.file = key  # the audit pack still finds the rendition where it went
    publication.save()
    events.publication_retracted(
        publication=publication,
        actor=actor,
        reason=reason,
        removal=removal,
        key=key,
        approval_withdrawn=withdraw_approval,
    )
    return publication
