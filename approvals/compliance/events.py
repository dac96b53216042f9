"""Compliance's audit vocabulary: taking a copy of the evidence is itself evidence.

Machine names and subject kinds are the ones these events have always had (they are in the hash chain);
each builder writes exactly the data the compliance pages always wrote. ``ComplianceConfig.ready()``
imports this module so the types are registered before the log lists them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from studio.core.audit import audit_record
from studio.core.events import event_group, event_type
from studio.core.models import AuditEvent, Workspace

event_group("compliance.log", "Audit log")
event_group("compliance.audit_pack", "Audit packs")

LOG_EXPORTED = event_type(
    "compliance.log.exported",
    label="Audit log downloaded",
    message="{actor} downloaded the audit log of {subject} as {format}",
    subject_kind="studio.workspace",
)
AUDIT_PACK_DOWNLOADED = event_type(
    "compliance.audit_pack.downloaded",
    label="Audit pack downloaded",
    message="{actor} downloaded the audit pack of {subject} ({files} files, {missing} missing)",
    subject_kind="studio.variant",
)


def log_exported(*, workspace: Workspace, actor: Any, fmt: str, filters: Mapping[str, str]) -> AuditEvent:
    """One workspace's log left as a file; ``filters`` are the query the person chose (page aside)."""
    return audit_record(
        LOG_EXPORTED,
        workspace=workspace,
        actor=actor,
        subject=workspace,
        data={"format": fmt, "filters": dict(filters)},
    )


def audit_pack_downloaded(*, variant: Any, actor: Any, files: int, missing: int) -> AuditEvent:
    return audit_record(
        AUDIT_PACK_DOWNLOADED,
        workspace=variant.workspace,
        actor=actor,
        subject=variant,
        data={"files": files, "missing": missing},
    )
