"""Publishing's audit vocabulary. The machine name and subject kind are those of before publishing had
its own app ("approvals.publication"): they are part of the hash chain and never change."""

from __future__ import annotations

from typing import Any

from approvals.publishing.models import Publication
from studio.core.audit import audit_record
from studio.core.events import event_group, event_type
from studio.core.models import AuditEvent
from studio.core.subjects import quoted, subject_kind_register
from studio.generation.events.subjects import VARIANT, variant_words
from studio.runs.events import RUN

PUBLICATION = subject_kind_register(
    "approvals.publication",
    title="Publication",
    noun="publication",
    model="publishing.Publication",
    fields={"variant": "variant_id", "title": "variant__draft__title"},
    label=lambda v, pk: variant_words(v.get("variant"), v.get("title")),
    link=lambda v, pk, slug: ("publishing:publication_detail", [slug, pk]),
)
DESTINATION = subject_kind_register(
    "publishing.destination",
    title="Publishing destination",
    noun="publishing destination",
    model="publishing.Destination",
    fields={"name": "name"},
    label=lambda v, pk: f"the publishing destination {quoted(v.get('name'))}" if v.get("name") else "",
)

event_group("approvals.publication", "Publishing")
event_group("approvals.destination", "Publishing destinations")

PUBLICATION_CREATED = event_type(
    "approvals.publication.created",
    label="Published",
    message="{actor} published {subject} as {format} at {size} pixels",
    subject_kind=PUBLICATION,
)

PUBLICATION_REFUSED = event_type(
    "approvals.publication.refused",
    label="Publishing refused",
    message="{actor} was refused publishing {subject} as {format}: {reason}",
    subject_kind=VARIANT,
)


def publication_created(*, publication: Publication, variant: Any, actor: Any, url: str) -> AuditEvent:
    """One rendition recorded; ``url`` is where storage serves it (kept so the log links the file)."""
    return audit_record(
        PUBLICATION_CREATED,
        workspace=variant.workspace,
        actor=actor,
        subject=publication,
        data={
            "variant": variant.pk,
            "review": publication.review_id,
            "format": publication.target_format.name,
            "size": f"{publication.width}x{publication.height}",
            "sha256": publication.sha256,
            "source_sha256": publication.source_sha256,
            "path": publication.file.name,
            "url": url,
        },
    )


def publication_refused(*, variant: Any, target_format: Any, actor: Any, code: str, reason: str) -> AuditEvent:
    """A publish the rules refused (role, not approved, changed since approval...): the trace that someone
    tried. Written in its own transaction, since the refused one rolled back."""
    return audit_record(
        PUBLICATION_REFUSED,
        workspace=variant.workspace,
        actor=actor,
        subject=variant,
        data={
            "variant": variant.pk,
            "format": target_format.name,
            "format_id": target_format.pk,
            "outcome": "refused",
            "code": code,
            "reason": reason,
        },
    )


PUBLICATION_FAILED = event_type(
    "approvals.publication.failed",
    label="Publishing failed",
    message="{actor} could not publish {subject} as {format} to {destination}: {reason}",
    subject_kind=PUBLICATION,
)

PUBLICATION_RETRACTED = event_type(
    "approvals.publication.retracted",
    label="Retracted",
    message="{actor} retracted {subject} ({format}) from {destination}: {reason}",
    subject_kind=PUBLICATION,
)


def _destination_label(publication: Publication) -> str:
    return publication.destination.name if publication.destination_id else "studio storage"


def publication_failed(*, publication: Publication, actor: Any, reason: str) -> AuditEvent:
    """A publish whose destination was down or refused the write: nothing was published."""
    return audit_record(
        PUBLICATION_FAILED,
        workspace=publication.workspace,
        actor=actor,
        subject=publication,
        data={
            "variant": publication.variant_id,
            "format": publication.target_format.name if publication.target_format_id else "",
            "destination": _destination_label(publication),
            "destination_id": publication.destination_id,
            "outcome": "failed",
            "reason": reason,
        },
    )


def publication_retracted(
    *, publication: Publication, actor: Any, reason: str, removal: str, key: str, approval_withdrawn: bool
) -> AuditEvent:
    """A publisher withdrew a publication: ``removal`` is "deleted" or "moved" (to ``key``)."""
    return audit_record(
        PUBLICATION_RETRACTED,
        workspace=publication.workspace,
        actor=actor,
        subject=publication,
        data={
            "variant": publication.variant_id,
            "review": publication.review_id,
            "format": publication.target_format.name if publication.target_format_id else "",
            "destination": _destination_label(publication),
            "destination_id": publication.destination_id,
            "url": publication.url,
            "removal": removal,
            "key": key,
            "reason": reason,
            "approval_withdrawn": approval_withdrawn,
        },
    )


# --- publishing a production run (one request for all its approved cells) ------------------------------

RUN_PUBLISH_REQUESTED = event_type(
    "approvals.publication.run_requested",
    label="Run publishing started",
    message=(
        "{actor} started publishing run #{run}: {queued_count} renditions queued, {refused_count} refused, "
        "{missing_count} cells without an approved image"
    ),
    subject_kind=RUN,
)


def run_publish_requested(*, run: Any, actor: Any, queued: list, refused: list, missing: list) -> AuditEvent:
    """One record per "Publish this run": what was queued, what the rules refused and which cells had no
    approved image (each publication still records its own event)."""
    return audit_record(
        RUN_PUBLISH_REQUESTED,
        workspace=run.workspace,
        actor=actor,
        subject=run,
        data={
            "run": run.pk,
            "queued": queued,
            "refused": refused,
            "missing": missing,
            "queued_count": len(queued),
            "refused_count": len(refused),
            "missing_count": len(missing),
        },
    )


# --- destination configuration (where a campaign's renditions go) ----------------------------------------

DESTINATION_CHANGED = event_type(
    "approvals.destination.changed",
    label="Destination changed",
    message="{actor} {action} the publishing destination {name} ({kind}) of {campaign}",
    subject_kind=DESTINATION,
)


def destination_changed(*, destination: Any, actor: Any, action: str, changes: dict, via: str) -> AuditEvent:
    """A destination was added, changed or deleted: where approved work goes, and who can read it.
    ``changes`` maps field -> {"before", "after"} with secrets already taken out (``destination_changes``):
    the row only names the variables that hold credentials, and URLs lose their userinfo and query."""
    return audit_record(
        DESTINATION_CHANGED,
        workspace=destination.workspace,
        actor=actor,
        subject=destination,
        subject_id=str(destination.pk or ""),
        data={
            "action": action,
            "name": destination.name,
            "kind": destination.get_kind_display(),
            "campaign": destination.campaign.name,
            "campaign_id": destination.campaign_id,
            "changes": changes,
            "via": via,
        },
    )
