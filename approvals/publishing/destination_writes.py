"""Writing renditions to a destination, and what is left when the destination is down.

``rendition_store`` is the only place a rendition's bytes reach a storage backend: it checks the object
arrived whole (its size) before anything is recorded, so a dropped connection is never reported as
published; ``rendition_discard`` deletes an object that no publication will record.
``publication_failure_record`` leaves the "failed" publication (its message, its Retry).
"""

from __future__ import annotations

import logging

from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage
from django.db import transaction

from approvals.publishing import events
from approvals.publishing.destinations import Destination, DestinationUnavailable
from approvals.publishing.errors import PublicationFailed
from approvals.publishing.models import Publication, PublicationStatus
from approvals.reviews.selectors import approved_review_for
from approvals.reviews.services import lock_variant
from studio.generation.models import CampaignFormat, Variant

__all__ = [
    "DestinationUnavailable",
    "PublicationFailed",
    "live_publication_for",
    "publication_failure_record",
    "publication_storage",
    "rendition_discard",
    "rendition_store",
]

logger = logging.getLogger(__name__)


def live_publication_for(*, variant: Variant | int, target_format: CampaignFormat | int) -> Publication | None:
    """The publication of ``variant`` in ``target_format`` that is not retracted (published or failed)."""
    return (
        Publication.objects.filter(variant=variant, target_format=target_format)
        .exclude(status=PublicationStatus.RETRACTED)
        .first()
    )


def publication_storage(destination: Destination | None) -> Storage:
    return destination.storage() if destination is not None else default_storage


def _unreachable(destination: Destination | None) -> str:
    label = f'The destination "{destination.name}"' if destination is not None else "The studio's storage"
    return f"{label} could not be reached or refused the upload, so nothing was published. Retry when it is back."


def _overwrites(storage: Storage) -> bool:
    """Whether saving under an existing name replaces the object (django-storages' S3 and Azure backends
    as destinations build them) rather than choosing another name."""
    return bool(getattr(storage, "file_overwrite", False) or getattr(storage, "overwrite_files", False))


def rendition_store(*, destination: Destination | None, name: str, data: bytes) -> tuple[str, str]:
    """Write ``data`` as ``name`` to ``destination`` (the studio's storage when None); return the object
    key and its public URL ("" when the destination is not public). Raises ``DestinationUnavailable``
    with a plain message when the destination is down, refuses the write or returns a short object."""
    try:
        storage = publication_storage(destination)
        key = destination.key_for(name) if destination is not None else name
        # Keys carry the content hash, so an object already under the key holds these very bytes. A
        # backend that overwrites (S3, Azure) is just written: asking first would cost a round trip on
        # every publication to save an upload on a rare retry. Local files would get a suffixed copy.
        if _overwrites(storage) or not storage.exists(key):
            key = storage.save(key, ContentFile(data))
        if storage.size(key) != len(data):
            storage.delete(key)
            raise DestinationUnavailable(
                "The upload arrived incomplete at the destination, so nothing was published. Retry."
            )
        url = destination.public_url_for(key) if destination is not None else default_storage.url(key)
    except DestinationUnavailable:
        raise
    except Exception as exc:  # any backend's network, auth or service error: the same plain answer
        logger.warning("Publishing to %s failed: %s", destination or "studio storage", type(exc).__name__)
        raise DestinationUnavailable(_unreachable(destination)) from exc
    return key, url


def rendition_discard(*, destination: Destination | None, key: str, why: str) -> None:
    """Best effort: delete an object ``rendition_store`` wrote that no publication will record (the
    approval went away while it was uploaded), so nothing stays at a public URL without a publication
    row. A failure is logged, never raised: the refusal that led here is what the person must read."""
    try:
        publication_storage(destination).delete(key)
    except Exception:  # any backend's error: the object may stay, and the log says which one
        logger.warning(
            "Could not delete %s from %s after %s; delete it by hand",
            key,
            destination or "studio storage",
            why,
            exc_info=True,
        )
    else:
        logger.info("Deleted %s from %s: %s", key, destination or "studio storage", why)


@transaction.atomic
def publication_failure_record(
    *, actor, variant: Variant, target_format: CampaignFormat, destination: Destination | None, message: str
) -> Publication | None:
    """Leave (or update) the "failed" publication of ``variant`` in ``target_format`` with ``message``,
    audited; a publication that meanwhile succeeded is left as it is. Nothing changes the variant."""
    variant = lock_variant(variant.pk)
    existing = live_publication_for(variant=variant, target_format=target_format)
    if existing is not None and existing.status == PublicationStatus.PUBLISHED:
        return existing
    review = approved_review_for(variant=variant)
    if review is None:
        return None  # the approval went away meanwhile: the refusal path explains that instead
    publication = existing or Publication(
        workspace=variant.workspace, variant=variant, target_format=target_format, sha256="", file=""
    )
    publication.review = review
    publication.destination = destination
    publication.width, publication.height = target_format.width, target_format.height
    publication.source_sha256 = variant.sha256
    publication.published_by = actor
    publication.status = PublicationStatus.FAILED
    publication.failure_message = message[:500]
    publication.url = ""
    publication.save()
    events.publication_failed(publication=publication, actor=actor, reason=publication.failure_message)
    return publication


@transaction.atomic
def publication_retry_start(*, publication: Publication) -> bool:
    """Mark a failed publication as being published again (the progress page waits for the outcome,
    which is audited: published or failed). False when it is not failed any more."""
    return bool(
        Publication.objects.filter(pk=publication.pk, status=PublicationStatus.FAILED).update(
            status=PublicationStatus.PUBLISHING
        )
    )


def publication_retry_refused(*, variant_id: int, format_id: int, message: str) -> None:
    """A retry the rules refused (the approval went away): the publication goes back to "failed" with
    the refusal's words (the refusal itself is audited by ``publication_create``)."""
    Publication.objects.filter(
        variant_id=variant_id, target_format_id=format_id, status=PublicationStatus.PUBLISHING
    ).update(status=PublicationStatus.FAILED, failure_message=message[:500])
