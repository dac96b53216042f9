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
