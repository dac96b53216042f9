"""What a publication keeps of its Content Credentials (``Publication.provenance``): a small JSON
summary for the page and the audit pack, readable without c2pa. Version 1 keys:

``status`` ("signed" / "unsigned"), ``message`` (one sentence), ``publisher``, ``digital_source_type``
(IPTC URL) and ``digital_source_label``, ``xmp`` (the XMP packet was written), ``origin``, ``model``,
``signed_at``; when signed also ``manifest_label``, ``validation_state``, ``hash_bound``, ``signer``
(subject, organization, issuer, serial_number, fingerprint_sha256, expires), ``history`` (every action
of the manifest chain, oldest first, each with ``manifest`` index, ``action``, ``label``, ``by``,
``description``, ``digital_source_type``), ``source_manifest`` (the ingredient's label, claim generator,
signer and validation state, or None), ``source_note``, ``manifest_file`` and ``manifest_sha256``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from studio.core.models import Workspace
from studio.lib.provenance import ALGORITHMIC_MEDIA, TRAINED_ALGORITHMIC_MEDIA
from studio.lib.provenance.manifests import ManifestReport

VERSION = 1
ACTION_LABELS = {
    "c2pa.created": "Created",
    "c2pa.opened": "Opened",
    "c2pa.edited": "Edited",
    "c2pa.cropped": "Cropped",
    "c2pa.resized": "Resized",
    "c2pa.converted": "Converted",
    "c2pa.placed": "Placed",
    "c2pa.color_adjustments": "Colour adjusted",
}
SOURCE_LABELS = {
    TRAINED_ALGORITHMIC_MEDIA: "Made by a generative AI model",
    ALGORITHMIC_MEDIA: "Drawn by a program (Imprimatur's offline renderer), not by an AI model",
}


def _base(*, workspace: Workspace, origin: Any, xmp: bool, now: datetime) -> dict[str, Any]:
    source_type = ALGORITHMIC_MEDIA if origin.offline else TRAINED_ALGORITHMIC_MEDIA
    return {
        "version": VERSION,
        "publisher": workspace.name,
        "digital_source_type": source_type,
        "digital_source_label": SOURCE_LABELS[source_type],
        "xmp": xmp,
        "origin": "offline" if origin.offline else "model",
        "model": "" if origin.offline else origin.model,
        "signed_at": now.isoformat(),
    }


def unsigned_summary(*, workspace: Workspace, origin: Any, xmp: bool, now: datetime) -> dict[str, Any]:
    summary = _base(workspace=workspace, origin=origin, xmp=xmp, now=now)
    summary["signed_at"] = None
    summary["status"] = "unsigned"
    summary["reason"] = "no_certificate"
    summary["message"] = (
        f"Unsigned: no Content Credentials certificate is configured for {workspace.name}. "
        "The file still declares its digital source type in XMP."
    )
    return summary


def _who(manifest: dict[str, Any]) -> str:
    info = manifest.get("claim_generator_info") or [{}]
    return str(info[0].get("name", "")) or str(manifest.get("claim_generator", ""))


def _history(report: ManifestReport) -> list[dict[str, Any]]:
    history = []
    for index, label in enumerate(reversed(report.chain())):
        manifest = report.manifests[label]
        for action in report.actions(label):
            agent = action.get("softwareAgent")
            by = agent.get("name", "") if isinstance(agent, dict) else str(agent or "")
            history.append(
                {
                    "manifest": index,
                    "action": action.get("action", ""),
                    "label": ACTION_LABELS.get(action.get("action", ""), action.get("action", "")),
                    "by": by or _who(manifest),
                    "recorded_by": _who(manifest),
                    "description": action.get("description", ""),
                    "digital_source_type": action.get("digitalSourceType", ""),
                }
            )
    return history


def _signature(manifest: dict[str, Any]) -> dict[str, str]:
    info = manifest.get("signature_info") or {}
    return {"issuer": str(info.get("issuer", "")), "common_name": str(info.get("common_name", ""))}


def signed_summary(
    *,
    workspace: Workspace,
    origin: Any,
    credential: Any,
    report: ManifestReport,
    source_report: ManifestReport | None,
    source_note: str,
    xmp: bool,
    now: datetime,
) -> dict[str, Any]:
    summary = _base(workspace=workspace, origin=origin, xmp=xmp, now=now)
    source_manifest = None
    if source_report is not None:
        source_manifest = {
            "label": source_report.active_label,
            "claim_generator": _who(source_report.active),
            "signer": _signature(source_report.active),
            "validation_state": source_report.state,
        }
    summary.update(
        {
            "status": "signed",
            "manifest_label": report.active_label,
            "validation_state": report.state,
            "hash_bound": report.hash_bound,
            "signer": {
                "subject": credential.subject,
                "organization": credential.organization,
                "issuer": credential.issuer,
                "serial_number": credential.serial_number,
                "fingerprint_sha256": credential.fingerprint_sha256,
                "expires": credential.not_valid_after.date().isoformat(),
            },
            "history": _history(report),
            "source_manifest": source_manifest,
            "source_note": source_note,
            "message": (
                f"Signed with Content Credentials for {workspace.name} by {credential.subject} "
                f"(issued by {credential.issuer})."
                + (" The source image's own credentials are carried as its ingredient." if source_manifest else "")
            ),
        }
    )
    return summary
