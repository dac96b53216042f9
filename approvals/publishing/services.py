"""Publishing writes: check that a variant may be published in a format, render it at the format's
exact pixels, store it and record the publication (one audit event, the variant moved to "published"
through ``variant_transition``).

A refused publish leaves a trace: ``publication_request`` (the view's check) and ``publication_create``
(the worker's) record ``approvals.publication.refused`` in a transaction of their own, after the refused
work rolled back, then re-raise."""

from __future__ import annotations

import hashlib
import io

from django.db import IntegrityError, transaction
from PIL import Image

from approvals.publishing import events
from approvals.publishing.destination_writes import (
    DestinationUnavailable,
    PublicationFailed,
    live_publication_for,
    publication_failure_record,
    rendition_discard,
    rendition_store,
)
from approvals.publishing.errors import NotPublishable
from approvals.publishing.models import Destination, Publication, PublicationStatus
from approvals.publishing.rendition_plans import rendition_plan_for, variant_focal
from approvals.publishing.timing import phase
from approvals.reviews.errors import REFUSED, refusal_code
from approvals.reviews.models import Review, ReviewStatus
from approvals.reviews.selectors import approved_review_for
from approvals.reviews.services import lock_variant
from studio.core.errors import refusal_mark_recorded, refusal_message
from studio.core.permissions import RoleRequired, can_publish
from studio.generation.lifecycle import variant_transition
from studio.generation.models import CampaignFormat, Variant, VariantStatus
from studio.lib.imaging import channel_rendition
from studio.lib.sizing import SizeError
from studio.provenance.services import SourceOrigin, provenance_sign

__all__ = [
    "NotPublishable",
    "PublicationFailed",
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
    if review is None and Review.objects.filter(variant=variant, status=ReviewStatus.WITHDRAWN).exists():
        raise NotPublishable(
            "The approval was withdrawn when a publication of this image was retracted; "
            "it needs a new review decision before it can be published again."
        )
    if review is None or review.variant_sha256 != variant.sha256:
        raise NotPublishable("This image changed after it was approved, so it cannot be published.")
    plan = rendition_plan_for(variant=variant, target_format=target_format)
    if not plan.ok:  # channel-true: beyond the aspect tolerance a format needs its own generation
        raise NotPublishable(plan.refusal)
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
    refusal_mark_recorded(exc)


def publication_request(*, actor, variant: Variant, target_format: CampaignFormat) -> Review:
    """``publication_check`` for someone asking to publish now (the view, before it enqueues the render),
    recording the refusal when the rules say no: auditors must see who tried to publish what."""
    try:
        return publication_check(actor=actor, variant=variant, target_format=target_format)
    except REFUSED as exc:
        publication_refusal_record(actor=actor, variant=variant, target_format=target_format, exc=exc)
        raise


def _rendition(*, source: bytes, width: int, height: int, focal=None, target_name: str = "") -> bytes:
    """The PNG at exactly ``width`` x ``height``, trimmed around the focal point within the aspect
    tolerance (``studio.lib.imaging.renditions``), or ``NotPublishable``."""
    try:
        rendition, _plan = channel_rendition(
            source=source, width=width, height=height, focal=focal, target_name=target_name, output_format="png"
        )
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


def _source_origin(variant: Variant) -> SourceOrigin:
    """What the Content Credentials say made the image: the deployment's model, or the offline renderer."""
    deployment = variant.job.deployment
    return SourceOrigin(
        offline=deployment.is_offline,
        model=deployment.model,
        provider=deployment.get_provider_display(),
        operation=variant.operation,
        locale=variant.locale,
        variant_id=variant.pk,
    )


def publication_create(
    *, actor, variant: Variant, target_format: CampaignFormat, destination: Destination | None = None
) -> Publication:
    """Render ``variant`` at the format's exact pixels, write it to ``destination`` (the studio's own
    storage when None) and record the publication; a refusal is recorded (after its transaction rolled
    back) and re-raised. A destination that is down leaves a "failed" publication with a plain message
    (``PublicationFailed``), which a retry publishes into.

    Idempotent per (variant, format): a live publication is returned as it is."""
    try:
        return _publication_create(actor=actor, variant=variant, target_format=target_format, destination=destination)
    except PublicationFailed:
        raise  # recorded as a failed publication (with its Retry), not as a refusal
    except REFUSED as exc:
        publication_refusal_record(actor=actor, variant=variant, target_format=target_format, exc=exc)
        raise


def _publication_create(
    *, actor, variant: Variant, target_format: CampaignFormat, destination: Destination | None
) -> Publication:
    """The work of ``publication_create``. The Pillow work runs before the transaction so no lock is held
    while an image is resized; the checks are repeated under the lock before anything is recorded."""
    with phase("check"):
        existing = live_publication_for(variant=variant, target_format=target_format)
        if existing is not None and existing.status == PublicationStatus.PUBLISHED:
            return existing
        variant = Variant.objects.select_related("workspace", "draft", "job__deployment").get(pk=variant.pk)
        publication_check(actor=actor, variant=variant, target_format=target_format)
    with phase("read"):
        with variant.image.open("rb") as handle:
            source = handle.read()
        source_sha = hashlib.sha256(source).hexdigest()
    if source_sha != variant.sha256:
        raise NotPublishable("The stored image no longer matches the approved version, so it cannot be published.")
    width, height = target_format.width, target_format.height
    with phase("render"):
        rendition = _rendition(
            source=source, width=width, height=height, focal=variant_focal(variant), target_name=target_format.name
        )
    plan = rendition_plan_for(variant=variant, target_format=target_format)
    with phase("sign"):
        signed = provenance_sign(  # Content Credentials (C2PA) and the XMP digital source type; may refuse
            workspace=variant.workspace,
            source=source,
            rendition=rendition,
            origin=_source_origin(variant),
            crop_box=plan.crop_box,
            focal=plan.focal,
            source_sha256=source_sha,
        )
    rendition = signed.data
    sha = hashlib.sha256(rendition).hexdigest()
    name = f"published/{variant.workspace.slug}/{variant.pk}/{target_format.pk}-{width}x{height}-{sha[:16]}.png"
    try:
        with phase("upload"):
            name, url = rendition_store(destination=destination, name=name, data=rendition)
    except DestinationUnavailable as exc:
        publication_failure_record(
            actor=actor, variant=variant, target_format=target_format, destination=destination, message=str(exc)
        )
        raise PublicationFailed(str(exc)) from exc
    with phase("record"):
        try:
            publication = _publication_record(
                actor=actor,
                variant=variant,
                target_format=target_format,
                name=name,
                sha=sha,
                source_sha=source_sha,
                destination=destination,
                url=url,
                provenance=signed.summary,
            )
        except REFUSED:
            # Re-checked under the lock, the approval went away during the upload: the object must not
            # stay public without a publication row (the refusal is recorded by ``publication_create``).
            rendition_discard(destination=destination, key=name, why="the publish was refused after the upload")
            raise
    return publication


@transaction.atomic
def _publication_record(
    *,
    actor,
    variant: Variant,
    target_format: CampaignFormat,
    name: str,
    sha: str,
    source_sha: str,
    destination: Destination | None,
    url: str,
    provenance: dict | None = None,
) -> Publication:
    variant = lock_variant(variant.pk)
    existing = live_publication_for(variant=variant, target_format=target_format)
    if existing is not None and existing.status == PublicationStatus.PUBLISHED:
        return existing
    review = publication_check(actor=actor, variant=variant, target_format=target_format)
    # A failed attempt's row is published into (its page keeps its address); else a new row.
    publication = existing or Publication(workspace=variant.workspace, variant=variant, target_format=target_format)
    publication.review = review
    publication.destination = destination
    publication.width, publication.height = target_format.width, target_format.height
    publication.file_format = "png"
    publication.sha256, publication.source_sha256 = sha, source_sha
    publication.published_by = actor
    publication.rendition_notes = rendition_plan_for(variant=variant, target_format=target_format).notes
    publication.provenance = provenance or {}
    publication.status = PublicationStatus.PUBLISHED
    publication.failure_message = ""
    publication.url = url
    publication.file = name
    try:
        with transaction.atomic():
            publication.save()
    except IntegrityError:
        return live_publication_for(variant=variant, target_format=target_format)

    def record(v: Variant) -> None:
        events.publication_created(publication=publication, variant=v, actor=actor, url=url)

    if variant.status != VariantStatus.PUBLISHED:
        variant_transition(actor=actor, variant=variant, to=VariantStatus.PUBLISHED, event=record)
    else:
        record(variant)
    return publication
