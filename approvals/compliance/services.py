"""Compliance writes: taking a copy of the evidence is recorded in the evidence.

A download of the log or of an audit pack writes its audit event here (through the builders in
``approvals.compliance.events``), never from a view. Both check the ability themselves
(``can_export_audit``), so a caller that forgot cannot leak a log.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, BinaryIO

from django.core.files.storage import default_storage
from django.db import transaction

from approvals.compliance import events
from approvals.compliance.exports import AuditFilter, PackFile, iter_export, write_audit_pack
from approvals.compliance.trails import AssetTrail, asset_trail_json
from studio.core.models import Workspace
from studio.core.permissions import RoleRequired, can_export_audit


def _require_exporter(actor, workspace: Workspace) -> None:
    if not can_export_audit(actor, workspace):
        raise RoleRequired(
            f"Only a compliance auditor or a workspace admin can export the audit log of {workspace.name}."
        )


@transaction.atomic
def audit_log_export(
    *, actor, workspaces: Sequence[Workspace], filters: AuditFilter, fmt: str, query: Mapping[str, str]
) -> Iterator[str]:
    """Record one ``compliance.log.exported`` per workspace in the export, then hand back the rows.

    ``filters`` must already be scoped to ``workspaces`` (``selectors.scoped_filter``); ``query`` is what
    the person asked for, as recorded in the event. The rows stream after the recording commits: the
    record exists even if the download is cut off half way.
    """
    for workspace in workspaces:
        _require_exporter(actor, workspace)
    wanted = set(filters.workspace_ids or ())
    for workspace in sorted(workspaces, key=lambda ws: ws.pk):  # chain heads locked in pk order
        if workspace.pk in wanted:
            events.log_exported(workspace=workspace, actor=actor, fmt=fmt, filters=query)
    return iter_export(filters, fmt)


def _pack_files(trail: AssetTrail) -> list[PackFile]:
    """Every version's image and every publication's rendition (and its C2PA manifest when signed),
    named in lineage order."""
    files: list[PackFile] = []
    for number, version in enumerate(trail.versions, start=1):
        v = version.variant
        files.append(
            PackFile(
                f"versions/{number:02d}-variant-{v.pk}.{v.format or 'png'}", v.image.storage, v.image.name, v.sha256
            )
        )
        for pub in version.publications:
            if pub.file:
                files.append(
                    PackFile(
                        f"publications/variant-{v.pk}-publication-{pub.pk}-{pub.width}x{pub.height}.{pub.file_format}",
                        pub.file.storage,
                        pub.file.name,
                        pub.sha256,
                    )
                )
            provenance = pub.provenance or {}
            if provenance.get("manifest_file"):  # the rendition's C2PA manifest store, as c2pa's Reader read it
                files.append(
                    PackFile(
                        f"publications/variant-{v.pk}-publication-{pub.pk}.c2pa.json",
                        default_storage,
                        provenance["manifest_file"],
                        provenance.get("manifest_sha256", ""),
                    )
                )
    return files


def audit_pack_write(*, actor, trail: AssetTrail, out: BinaryIO) -> dict[str, Any]:
    """Write one asset's audit pack (a zip) to ``out`` and record ``compliance.audit_pack.downloaded``.

    Returns the manifest. Files missing from storage are listed in it rather than failing the pack, and
    the event counts them: the auditor must see the gap, and so must the next auditor. The zip is
    written before the transaction opens, so copying files never holds the workspace's chain head."""
    _require_exporter(actor, trail.workspace)
    manifest = write_audit_pack(files=_pack_files(trail), trail_json=asset_trail_json(trail), out=out)
    with transaction.atomic():
        events.audit_pack_downloaded(
            variant=trail.variant, actor=actor, files=len(manifest["files"]), missing=len(manifest["missing"])
        )
    return manifest
