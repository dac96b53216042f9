"""Content Credentials' audit vocabulary: an admin setting or removing a workspace's signing certificate.

The subject is the workspace (the certificate belongs to it, and a replaced row would leave a dangling
subject). The data names the certificate and the environment variable; the key never appears. Imported
from ``ProvenanceConfig.ready()``."""

from __future__ import annotations

from typing import Any

from studio.core.audit import audit_record
from studio.core.events import event_group, event_type
from studio.core.models import AuditEvent

WORKSPACE = "studio.workspace"  # named by the studio (studio.generation.events.subjects)

event_group("provenance.credential", "Signing certificates (Content Credentials)")

CREDENTIAL_CONFIGURED = event_type(
    "provenance.credential.configured",
    label="Content Credentials certificate set",
    message="{actor} set the Content Credentials certificate of {subject} to {certificate} (valid until {expires})",
    subject_kind=WORKSPACE,
)
CREDENTIAL_REMOVED = event_type(
    "provenance.credential.removed",
    label="Content Credentials certificate removed",
    message="{actor} removed the Content Credentials certificate {certificate} from {subject}",
    subject_kind=WORKSPACE,
)


def _certificate(credential: Any) -> dict[str, Any]:
    return {
        "certificate": credential.subject,
        "issuer": credential.issuer,
        "serial_number": credential.serial_number,
        "fingerprint_sha256": credential.fingerprint_sha256,
        "expires": credential.not_valid_after.date().isoformat(),
        "private_key_env": credential.private_key_env,
    }


def credential_configured(*, credential: Any, actor: Any, replaced: Any | None) -> AuditEvent:
    data = _certificate(credential)
    data["replaced_fingerprint_sha256"] = replaced.fingerprint_sha256 if replaced is not None else ""
    return audit_record(
        CREDENTIAL_CONFIGURED, workspace=credential.workspace, actor=actor, subject=credential.workspace, data=data
    )


def credential_removed(*, credential: Any, actor: Any) -> AuditEvent:
    return audit_record(
        CREDENTIAL_REMOVED,
        workspace=credential.workspace,
        actor=actor,
        subject=credential.workspace,
        data=_certificate(credential),
    )
