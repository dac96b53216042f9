"""Publishing writes: check that a variant may be published in a format, render it at the format's
exact pixels, store it and record the publication (one audit event, the variant moved to "published"
through ``variant_transition``).

A refused publish leaves a trace: ``publication_request`` (the view's check) and ``publication_create``
(the worker's) record ``approvals.publication.refused`` in a transaction of their own, after the refused
work rolled back, then re-raise."""

from __future__ import annotations

import hashlib
import io

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from PIL import Image

from approvals.publishing import events
from approvals.publishing.errors import NotPublishable
from approvals.publishing.models import Publication
from approvals.reviews.errors import REFUSED, refusal_code
from approvals.reviews.models import Review
from approvals.reviews.selectors import approved_review_for
from approvals.reviews.services import lock_variant
from studio.core.errors import refusal_message
from studio.core.permissions import RoleRequired, can_publish
from studio.generation.lifecycle import variant_transition
from studio.generation.models import CampaignFormat, Variant, VariantStatus
from studio.lib.imaging import make_rendition
from studio.lib.sizing import SizeError

__all__ = [
    "NotPublishable",
    "publication_check",
    "publication_create",
    "publication_refusal_record",
    "publication_request",
]


def publication_check(*, actor, variant: Variant, target_format: CampaignFormat) -> Review:
    """Why ``variant`` cannot be published in ``target_format``, as a ``Refusal``; else the approved
    review it will be published under. Used by the view before it enqueues the render."""
    workspace = variant.workspace
    if not can_publish(actor, workspace):
        raise RoleRequired(f"Only a marketer, brand reviewer or admin can publish images in {workspace.name}.")
    if target_format.campaign_id != variant.draft.campaign_id:
        raise NotPublishable("Choose one of this campaign's formats.")
    if variant.status not in (VariantStatus.APPROVED, VariantStatus.PUBLISHED):
        raise NotPublishable("Only approved images can be published.")
    review = approved_review_for(variant=variant)
    if review is None or review.variant_sha256 != variant.sha256:
        raise NotPublishable("This image changed after it was approved, so it cannot be published.")
    return review


def publication_refusal_record(*, actor, variant: Variant, target_format: CampaignFormat, exc: Exception) -> None:
    """Write ``approvals.publication.refused`` for ``exc`` in its own transaction."""
    with transaction.atomic():
        events.publication_refused(
            variant=variant,
            target_format=target_format,
            actor=actor,
            code=refusal_code(exc),
            reason=refusal_message(exc),
        )


def publication_request(*, actor, variant: Variant, target_format: CampaignFormat) -> Review:
    """``publication_check`` for someone asking to publish now (the view, before it enqueues the render),
    recording the refusal when the rules say no: auditors must see who tried to publish what."""
    try:
        return publication_check(actor=actor, variant=variant, target_format=target_format)
    except REFUSED as exc:
        publication_refusal_record(actor=actor, variant=variant, target_format=target_format, exc=exc)
        raise


def _rendition(*, source: bytes, width: int, height: int) -> bytes:
    """The PNG at exactly ``width`` x ``height``, cropped around the centre, or ``NotPublishable``."""
    try:
        rendition = make_rendition(source=source, width=width, height=height, focal=(0.5, 0.5), output_format="png")
    except SizeError as exc:
        raise NotPublishable(str(exc)) from exc
    except OSError as exc:  # Pillow cannot read the stored file
        raise NotPublishable("The stored image could not be read, so nothing was published.") from exc
    with Image.open(io.BytesIO(rendition)) as image:
        if image.size != (width, height):
            raise NotPublishable(
                f"The rendition came out at {image.width}x{image.height} instead of "
                f"{width}x{height}; nothing was published."
            )
    return rendition


def publication_create(*, actor, variant: Variant, target_format: CampaignFormat) -> Publication:
    """Render ``variant`` at the format's exact pixels, store it and record the publication; a refusal is
    recorded (after its transaction rolled back) and re-raised.

    Idempotent per (variant, format)."""
    try:
        return _publication_create(actor=actor, variant=variant, target_format=target_format)
    except REFUSED as exc:
        publication_refusal_record(actor=actor, variant=variant, target_format=target_format, exc=exc)
        raise


def _publication_create(*, actor, variant: Variant, target_format: CampaignFormat) -> Publication:
    """The work of ``publication_create``. The Pillow work runs before the transaction so no lock is held
    while an image is resized; the checks are repeated under the lock before anything is recorded."""
    existing = Publication.objects.filter(variant=variant, target_format=target_format).first()
    if existing is not None:
        return existing
    variant = Variant.objects.select_related("workspace", "draft").get(pk=variant.pk)
    publication_check(actor=actor, variant=variant, target_format=target_format)
    with variant.image.open("rb") as handle:
        source = handle.read()
    source_sha = hashlib.sha256(source).hexdigest()
    if source_sha != variant.sha256:
        raise NotPublishable("The stored image no longer matches the approved version, so it cannot be published.")
    width, height = target_format.width, target_format.height
    rendition = _rendition(source=source, width=width, height=height)
    sha = hashlib.sha256(rendition).hexdigest()
    name = f"published/{variant.workspace.slug}/{variant.pk}/{target_format.pk}-{width}x{height}-{sha[:16]}.png"
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(rendition))
    return _publication_record(
        actor=actor, variant=variant, target_format=target_format, name=name, sha=sha, source_sha=source_sha
    )


@transaction.atomic
def _publication_record(
    *, actor, variant: Variant, target_format: CampaignFormat, name: str, sha: str, source_sha: str
) -> Publication:
    variant = lock_variant(variant.pk)
    existing = Publication.objects.filter(variant=variant, target_format=target_format).first()
    if existing is not None:
        return existing
    review = publication_check(actor=actor, variant=variant, target_format=target_format)
    publication = Publication(
        workspace=variant.workspace,
        variant=variant,
        review=review,
        target_format=target_format,
        width=target_format.width,
        height=target_format.height,
        file_format="png",
        sha256=sha,
        source_sha256=source_sha,
        published_by=actor,
        rendition_notes=[f"Cropped to {target_format.width}x{target_format.height} around the centre."],
    )
    publication.file.name = name
    try:
        with transaction.atomic():
            publication.save()
    except IntegrityError:
        return Publication.objects.get(variant=variant, target_format=target_format)
    url = default_storage.url(name)

    def record(v: Variant) -> None:
        events.publication_created(publication=publication, variant=v, actor=actor, url=url)

    if variant.status != VariantStatus.PUBLISHED:
        variant_transition(actor=actor, variant=variant, to=VariantStatus.PUBLISHED, event=record)
    else:
        record(variant)
    return publication
