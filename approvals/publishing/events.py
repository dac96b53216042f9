"""Publishing's audit vocabulary. The machine name and subject kind are those of before publishing had
its own app ("approvals.publication"): they are part of the hash chain and never change."""

from __future__ import annotations

from typing import Any

from approvals.publishing.models import Publication
from studio.core.audit import audit_record
from studio.core.events import event_type
from studio.core.models import AuditEvent

PUBLICATION_CREATED = event_type(
    "approvals.publication.created",
    label="Published",
    message="{actor} published {subject} as {format} at {size} pixels",
    subject_kind="approvals.publication",
)

PUBLICATION_REFUSED = event_type(
    "approvals.publication.refused",
    label="Publishing refused",
    message="{actor} was refused publishing {subject} as {format}: {reason}",
    subject_kind="studio.variant",
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
