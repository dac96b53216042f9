"""CSV and JSON exports of the audit log, streamed row by row.

The log can hold millions of events, so exports never materialise it: rows come from a database
iterator in chunks and leave as text as soon as they are formatted, so memory stays flat whatever the
size. Each row carries ``prev_hash`` and ``hash``: an auditor can re-check the chain from the file alone.

Rows keep the machine names (action, subject type) exactly as stored, and end with the ``sentence`` the
compliance log shows, so a reader of the file needs no decoder ring. The subject labels the sentence
needs come from the same streaming query (``subjects.subject_info``), never one query per row.
"""

from __future__ import annotations

import csv
import hashlib
import json
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, BinaryIO

from django.db.models import Q, QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from approvals.compliance.log import event_sentence
from approvals.compliance.subjects import subject_info, subject_ref
from studio.core.models import AuditEvent

EXPORT_CHUNK_SIZE = 2000
EXPORT_FORMATS = ("csv", "json")

# (column name, values_list lookup) in file order.
_COLUMNS: tuple[tuple[str, str], ...] = (
    ("workspace", "workspace__slug"),
    ("seq", "seq"),
    ("created_at", "created_at"),
    ("action", "action"),
    ("actor_id", "actor_id"),
    ("actor", "actor_label"),
    ("subject_type", "subject_type"),
    ("subject_id", "subject_id"),
    ("data", "data"),
    ("ip", "ip"),
    ("user_agent", "user_agent"),
    ("prev_hash", "prev_hash"),
    ("hash", "hash"),
)
# The stored columns, then the sentence (computed from them and the subject's label, read last).
EXPORT_COLUMNS: tuple[str, ...] = (*(name for name, _ in _COLUMNS), "sentence")
_LOOKUPS: tuple[str, ...] = (*(lookup for _, lookup in _COLUMNS), "subject_info")
_AT = {name: index for index, name in enumerate(EXPORT_COLUMNS)}
# Rows joined per yield: fewer, larger writes without holding more than a page of text.
_ROWS_PER_WRITE = 200


@dataclass(frozen=True)
class AuditFilter:
    """What to export or list. Every field is optional; dates are whole days in the site's time zone."""

    workspace_ids: tuple[int, ...] | None = None
    since: date | None = None
    until: date | None = None
    action: str = ""  # prefix, e.g. "approvals.review."
    actor: str = ""  # part of the actor label (name or username), or "system"
    actor_username: str = ""  # exactly this person (the log's person picker)
    subject_type: str = ""
    subject_id: str = ""

    @property
    def is_empty(self) -> bool:
        return not (
            self.since
            or self.until
            or self.action
            or self.actor
            or self.actor_username
            or self.subject_type
            or self.subject_id
        )


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def filter_events(queryset: QuerySet[AuditEvent], filters: AuditFilter) -> QuerySet[AuditEvent]:
    """Apply ``filters``. Every condition uses an indexed column or a prefix, so it stays cheap."""
    if filters.workspace_ids is not None:
        queryset = queryset.filter(workspace_id__in=filters.workspace_ids)
    if filters.since:
        queryset = queryset.filter(created_at__gte=_start_of(filters.since))
    if filters.until:
        queryset = queryset.filter(created_at__lt=_start_of(filters.until + timedelta(days=1)))
    if filters.action:
        queryset = queryset.filter(action__startswith=filters.action.strip())
    if filters.actor:
        actor = filters.actor.strip()
        queryset = queryset.filter(Q(actor_label__icontains=actor) | Q(actor__username=actor))
    if filters.actor_username:
        queryset = queryset.filter(actor__username=filters.actor_username)
    if filters.subject_type:
        queryset = queryset.filter(subject_type=filters.subject_type.strip().lower())
    if filters.subject_id:
        queryset = queryset.filter(subject_id=filters.subject_id.strip())
    return queryset


def export_queryset(filters: AuditFilter) -> QuerySet[AuditEvent]:
    """Events in chain order (workspace, then sequence), as value tuples: the stored columns in
    ``EXPORT_COLUMNS`` order, then the subject's label values (what the sentence is made from)."""
    return (
        filter_events(AuditEvent.objects.all(), filters)
        .annotate(subject_info=subject_info())
        .order_by("workspace_id", "seq")
        .values_list(*_LOOKUPS)
    )


def _rows(queryset: QuerySet) -> Iterator[tuple]:
    return queryset.iterator(chunk_size=EXPORT_CHUNK_SIZE)


class _Echo:
    """A write-only file for ``csv.writer``: hands each formatted line straight back."""

    def write(self, value: str) -> str:
        return value


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula is prefixed with an apostrophe (CSV injection).
    The JSON export carries every value unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _with_sentence(row: tuple) -> list[Any]:
    """The stored values of one row, then its sentence (in place of the subject's label values)."""
    *values, info = row
    subject = subject_ref(
        subject_type=values[_AT["subject_type"]],
        subject_id=values[_AT["subject_id"]],
        workspace_slug=values[_AT["workspace"]],
        info=info,
        with_link=False,  # a file has no links; reversing a URL per row would cost more than the row
    )
    sentence = event_sentence(
        action=values[_AT["action"]], actor_label=values[_AT["actor"]], subject=subject, data=values[_AT["data"]]
    )
    values[_AT["created_at"]] = values[_AT["created_at"]].isoformat(timespec="microseconds")
    return [*values, sentence]


def _csv_row(row: tuple) -> list[Any]:
    values = _with_sentence(row)
    values[_AT["data"]] = json.dumps(values[_AT["data"]], sort_keys=True, ensure_ascii=False)
    return [_csv_cell(v) for v in values]


def iter_csv(rows: Iterable[tuple]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    buffer = [writer.writerow(EXPORT_COLUMNS)]
    for row in rows:
        buffer.append(writer.writerow(_csv_row(row)))
        if len(buffer) >= _ROWS_PER_WRITE:
            yield "".join(buffer)
            buffer = []
    if buffer:
        yield "".join(buffer)


def _json_row(row: tuple) -> str:
    return json.dumps(dict(zip(EXPORT_COLUMNS, _with_sentence(row), strict=True)), ensure_ascii=False)


def iter_json(rows: Iterable[tuple]) -> Iterator[str]:
    """A JSON array, one object per line, valid however many rows there are (including none)."""
    yield "["
    separator = "\n"
    buffer: list[str] = []
    for row in rows:
        buffer.append(separator + _json_row(row))
        separator = ",\n"
        if len(buffer) >= _ROWS_PER_WRITE:
            yield "".join(buffer)
            buffer = []
    buffer.append("\n]\n")
    yield "".join(buffer)


def iter_export(filters: AuditFilter, fmt: str) -> Iterator[str]:
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"Unknown export format {fmt!r}: use csv or json.")
    rows = _rows(export_queryset(filters))
    return iter_csv(rows) if fmt == "csv" else iter_json(rows)


def export_filename(*, stem: str, fmt: str) -> str:
    return f"{stem}-{timezone.now():%Y%m%d-%H%M%S}.{fmt}"


def streaming_export(rows: Iterator[str], *, fmt: str, filename: str) -> StreamingHttpResponse:
    """A download of already formatted ``rows`` (``iter_export``'s), never cached."""
    content_type = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
    response = StreamingHttpResponse(rows, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def export_response(*, filters: AuditFilter, fmt: str, filename: str) -> StreamingHttpResponse:
    return streaming_export(iter_export(filters, fmt), fmt=fmt, filename=filename)


# --- Audit pack: one asset's evidence as a zip ------------------------------------------------------

_COPY_CHUNK = 1024 * 1024


def _copy_hashing(source: BinaryIO, target: BinaryIO) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    for chunk in iter(lambda: source.read(_COPY_CHUNK), b""):
        digest.update(chunk)
        target.write(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def write_audit_pack(*, files: Iterable[PackFile], trail_json: dict[str, Any], out: BinaryIO) -> dict[str, Any]:
    """Write the zip to ``out`` (a temp file): the files streamed from storage one chunk at a time,
    trail.json, and manifest.json / manifest.txt with the sha256 of every other file in the zip.

    A file missing from storage is listed under "missing" in the manifest instead of failing the pack:
    the auditor must see the gap. Returns the manifest."""
    entries: list[dict[str, Any]] = []
    missing: list[dict[str, Any]] = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for item in files:
            try:
                source = item.storage.open(item.storage_name, "rb")
            except OSError:
                missing.append(
                    {"path": item.arcname, "storage_name": item.storage_name, "recorded_sha256": item.recorded_sha256}
                )
                continue
            with source, archive.open(zipfile.ZipInfo(item.arcname, _zip_time()), "w") as target:
                sha, size = _copy_hashing(source, target)
            entries.append(
                {
                    "path": item.arcname,
                    "sha256": sha,
                    "bytes": size,
                    "recorded_sha256": item.recorded_sha256,
                    "matches_record": (sha == item.recorded_sha256) if item.recorded_sha256 else None,
                }
            )
        trail_bytes = json.dumps(trail_json, indent=2, ensure_ascii=False, sort_keys=True).encode()
        archive.writestr(_info("trail.json"), trail_bytes)
        entries.append(
            {
                "path": "trail.json",
                "sha256": hashlib.sha256(trail_bytes).hexdigest(),
                "bytes": len(trail_bytes),
                "recorded_sha256": None,
                "matches_record": None,
            }
        )
        manifest = {"generated_at": timezone.now().isoformat(), "files": entries, "missing": missing}
        archive.writestr(_info("manifest.json"), json.dumps(manifest, indent=2, ensure_ascii=False).encode())
        lines = "".join(f"{e['sha256']}  {e['path']}\n" for e in entries)
        archive.writestr(_info("manifest.txt"), lines.encode())
    return manifest


@dataclass(frozen=True)
class PackFile:
    """One stored file to put in an audit pack, with the sha256 the database recorded for it."""

    arcname: str
    storage: Any
    storage_name: str
    recorded_sha256: str = ""


def _zip_time() -> tuple[int, int, int, int, int, int]:
    now = timezone.now()
    return (now.year, now.month, now.day, now.hour, now.minute, now.second)


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, _zip_time())
    info.compress_type = zipfile.ZIP_DEFLATED
    return info
