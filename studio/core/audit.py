"""Tamper-evident audit history.

Every state change appends one ``AuditEvent`` in the same transaction as the change. Events form a
hash chain per workspace: each stores the previous event's hash and the SHA-256 of its own canonical
content. Appends lock the workspace's ``AuditChain`` row, so concurrent writers serialise and the chain
never forks (on SQLite the IMMEDIATE transaction mode serialises writers instead). An append costs three
indexed statements however long the chain is: lock the head, insert the event, move the head.

``audit_verify`` streams the chain and names the first event that does not fit: changed content, a
missing event, a changed order, an inserted or forged event, or a log cut short at the end.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import ipaddress
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from studio.core.events import EventType
from studio.core.models import AuditChain, AuditEvent, Workspace

GENESIS_HASH = "0" * 64
VERIFY_CHUNK_SIZE = 5000

# Problems ``audit_verify`` can name (``VerifyResult.problem``).
PROBLEM_CHANGED = "content_changed"
PROBLEM_MISSING = "event_missing"
PROBLEM_ORDER = "order_changed"
PROBLEM_INSERTED = "event_inserted"
PROBLEM_TRUNCATED = "tail_missing"
PROBLEM_HEAD = "head_mismatch"


@dataclass(frozen=True)
class RequestMeta:
    ip: str | None = None
    user_agent: str = ""


_NO_REQUEST = RequestMeta()  # frozen, so one shared default is safe
_request_meta: contextvars.ContextVar[RequestMeta] = contextvars.ContextVar("audit_request_meta", default=_NO_REQUEST)


class AuditRequestMiddleware:
    """Captures IP and user agent so services can record them without taking the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _request_meta.set(
            RequestMeta(
                ip=_normalise_ip(request.META.get("REMOTE_ADDR")),
                user_agent=request.META.get("HTTP_USER_AGENT", "")[:400],
            )
        )
        try:
            return self.get_response(request)
        finally:
            _request_meta.reset(token)


def _normalise_ip(raw: str | None) -> str | None:
    """The textual form PostgreSQL's ``inet`` gives back, so the stored value hashes the same way.
    Unparseable values are dropped rather than failing the change being recorded."""
    if not raw:
        return None
    try:
        address = ipaddress.ip_address(raw.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return address.compressed


def _json_safe(value: Any) -> Any:
    """Values exactly as they come back from a JSON column (SQLite text or PostgreSQL jsonb).

    jsonb prints integral floats of 1e16 and above without an exponent, so they return as ints; it
    refuses NaN, infinities and NUL characters. Fixing these before hashing keeps stored == hashed.
    """
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if abs(value) >= 1e16 and value.is_integer():
            return int(value)
        return value
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, dict):
        return {_json_safe(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def _normalise(data: dict[str, Any]) -> dict[str, Any]:
    """Round-trip through JSON so what is stored is exactly what was hashed (Decimals, dates, UUIDs)."""
    return _json_safe(json.loads(json.dumps(data, cls=DjangoJSONEncoder)))


_dumps = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def _canonical(
    workspace_id: int,
    seq: int,
    action: str,
    actor_id: int | None,
    actor_label: str,
    subject_type: str,
    subject_id: str,
    data: Any,
    ip: str | None,
    user_agent: str,
    created_at: str,
    prev_hash: str,
) -> str:
    # A JSON array in a fixed field order (data's keys sorted): one C-encoded dump per event, cheap
    # enough to re-check a million events in seconds, and unambiguous whatever the text holds.
    return _dumps(
        [
            workspace_id,
            seq,
            action,
            actor_id,
            actor_label,
            subject_type,
            str(subject_id),
            data,
            ip,
            user_agent,
            created_at,
            prev_hash,
        ]
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_content(event: AuditEvent) -> str:
    """The exact text that is hashed: every stored field but the hash itself, in a fixed order."""
    return _canonical(
        event.workspace_id,
        event.seq,
        event.action,
        event.actor_id,
        event.actor_label,
        event.subject_type,
        event.subject_id,
        event.data,
        event.ip,
        event.user_agent,
        _iso(event.created_at),
        event.prev_hash,
    )


def event_hash(event: AuditEvent) -> str:
    return hashlib.sha256(canonical_content(event).encode()).hexdigest()


def actor_label_for(actor: Any) -> str:
    if actor is None:
        return "system"
    full = actor.get_full_name() if hasattr(actor, "get_full_name") else ""
    label = f"{full} ({actor.get_username()})" if full else actor.get_username()
    return label[:200]


_EVENT_FIELDS = (
    "workspace",
    "seq",
    "action",
    "actor",
    "actor_label",
    "subject_type",
    "subject_id",
    "data",
    "ip",
    "user_agent",
    "created_at",
    "prev_hash",
    "hash",
)


@functools.cache
def _head_sql(for_update: bool) -> str:
    meta = AuditChain._meta
    q = connection.ops.quote_name
    return (
        f"SELECT {q(meta.pk.column)}, {q('last_seq')}, {q('last_hash')} FROM {q(meta.db_table)} "  # noqa: S608
        f"WHERE {q(meta.get_field('workspace').column)} = %s" + (" FOR UPDATE" if for_update else "")
    )


@functools.cache
def _pg_write_sql() -> str:
    """Insert the event and move the head in one statement: one round trip fewer on every append."""
    event, chain = AuditEvent._meta, AuditChain._meta
    q = connection.ops.quote_name
    columns = ", ".join(q(event.get_field(name).column) for name in _EVENT_FIELDS)
    casts = {"data": "%s::jsonb", "ip": "%s::inet"}
    values = ", ".join(casts.get(name, "%s") for name in _EVENT_FIELDS)
    return (
        f"WITH ins AS (INSERT INTO {q(event.db_table)} ({columns}) VALUES ({values}) "  # noqa: S608
        f"RETURNING {q(event.pk.column)}) "
        f"UPDATE {q(chain.db_table)} SET {q('last_seq')} = %s, {q('last_hash')} = %s "
        f"WHERE {q(chain.pk.column)} = %s RETURNING (SELECT {q(event.pk.column)} FROM ins)"
    )


def _lock_head(workspace: Workspace) -> tuple[int, int, str]:
    """Lock the workspace's chain head (id, last_seq, last_hash), creating it on the very first event.

    A raw indexed lookup by workspace: the cost is the same at ten events or ten million."""
    sql = _head_sql(connection.features.has_select_for_update)
    with connection.cursor() as cursor:
        cursor.execute(sql, [workspace.pk])
        row = cursor.fetchone()
        if row is None:
            AuditChain.objects.get_or_create(workspace_id=workspace.pk)
            cursor.execute(sql, [workspace.pk])
            row = cursor.fetchone()
    return row


def _write(event: AuditEvent, chain_id: int) -> None:
    if connection.vendor == "postgresql":
        params = [getattr(event, event._meta.get_field(name).attname) for name in _EVENT_FIELDS]
        params[_EVENT_FIELDS.index("data")] = json.dumps(event.data)
        with connection.cursor() as cursor:
            cursor.execute(_pg_write_sql(), [*params, event.seq, event.hash, chain_id])
            event.pk = cursor.fetchone()[0]
        event._state.adding = False
        event._state.db = connection.alias
        return
    event.save(force_insert=True)
    AuditChain.objects.filter(pk=chain_id).update(last_seq=event.seq, last_hash=event.hash)


def subject_kind(subject: models.Model | None) -> str:
    """The stable name of a subject's kind, as stored in the chain ("studio.variant").

    It is the model's label from when the chain began; models that moved between apps keep it through
    ``audit_subject_kind``, so old and new events about one object share one kind and trails find both.
    """
    if subject is None:
        return ""
    return getattr(subject, "audit_subject_kind", "") or subject._meta.label_lower


def audit_append(
    *,
    workspace: Workspace,
    actor: Any,
    action: str,
    subject: models.Model | None = None,
    subject_type: str = "",
    subject_id: str | int = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the workspace's chain. Must run inside the caller's transaction.

    No savepoint of its own: if the append fails, the caller's whole change must roll back with it.
    """
    if actor is not None and not getattr(actor, "is_authenticated", True):
        actor = None  # an anonymous request acts as nobody in particular
    meta = _request_meta.get()
    if subject_id in ("", None) and subject is not None:
        subject_id = subject.pk
    with transaction.atomic(savepoint=False):
        chain_id, last_seq, last_hash = _lock_head(workspace)
        event = AuditEvent(
            workspace=workspace,
            seq=last_seq + 1,
            action=action,
            actor=actor,
            actor_label=actor_label_for(actor),
            subject_type=subject_type or subject_kind(subject),
            subject_id=str(subject_id),
            data=_normalise(data or {}),
            ip=meta.ip,
            user_agent=meta.user_agent,
            created_at=timezone.now(),
            prev_hash=last_hash,
        )
        event.hash = event_hash(event)
        _write(event, chain_id)
    return event


def audit_record(
    event_type: EventType,
    *,
    workspace: Workspace,
    actor: Any,
    subject: models.Model | None = None,
    subject_id: str | int = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event of a registered type. The builders in each app's ``events`` module call this;
    nothing else writes to the chain."""
    return audit_append(
        workspace=workspace,
        actor=actor,
        action=event_type.action,
        subject=subject,
        subject_type=event_type.subject_kind,
        subject_id=subject_id,
        data=data,
    )


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    verified: int
    message: str
    broken_seq: int | None = None
    workspace_slug: str = ""
    problem: str = ""


def _chain_rows(workspace: Workspace, last_seq: int) -> Iterator[tuple]:
    """The workspace's events up to ``last_seq`` in chain order, as tuples ready for ``_canonical``.

    Read with a raw streaming cursor (a server-side cursor on PostgreSQL) rather than the ORM: building
    a million model rows, parsing timestamps and printing them again would triple the time. The
    timestamp comes out of the database already in the canonical text form."""
    q = connection.ops.quote_name
    meta = AuditEvent._meta
    column = {f.name: q(f.column) for f in meta.concrete_fields}
    if connection.vendor == "postgresql":
        created = f"to_char({column['created_at']} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"
        data, ip = f"{column['data']}::text", f"host({column['ip']})"
    else:
        # CAST: no declared type, so the driver hands back the stored text instead of a datetime.
        created, data, ip = f"CAST({column['created_at']} AS TEXT)", column["data"], column["ip"]
    sql = (
        f"SELECT {column['seq']}, {column['action']}, {column['actor']}, {column['actor_label']}, "  # noqa: S608
        f"{column['subject_type']}, {column['subject_id']}, {data}, {ip}, {column['user_agent']}, {created}, "
        f"{column['prev_hash']}, {column['hash']} FROM {q(meta.db_table)} "
        f"WHERE {column['workspace']} = %s AND {column['seq']} <= %s ORDER BY {column['seq']}, {q(meta.pk.column)}"
    )
    postgres = connection.vendor == "postgresql"
    loads = json.loads
    # PostgreSQL: a transaction keeps the server-side cursor streaming (outside one it is materialised
    # first). SQLite: no transaction, since IMMEDIATE mode would block every writer for the whole walk.
    with transaction.atomic() if postgres else contextlib.nullcontext(), connection.chunked_cursor() as cursor:
        cursor.execute(sql, [workspace.pk, last_seq])
        while rows := cursor.fetchmany(VERIFY_CHUNK_SIZE):
            for row in rows:
                created_at = row[9]
                if not postgres:  # SQLite keeps "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC
                    created_at = created_at.replace(" ", "T")
                    created_at = (created_at if "." in created_at else created_at + ".000000") + "+00:00"
                yield (
                    row[0],
                    row[1],
                    row[2],
                    row[3],
                    row[4],
                    row[5],
                    loads(row[6]),
                    row[7],
                    row[8],
                    created_at,
                    row[10],
                    row[11],
                )


def _broken_link(workspace: Workspace, seq: int, action: str, prev_hash: str, count: int) -> VerifyResult:
    """Say why event ``seq`` does not link to the one before it, by finding what it does link to."""
    slug = workspace.slug
    linked_seq = (
        AuditEvent.objects.filter(workspace=workspace, hash=prev_hash).values_list("seq", flat=True).first()
        if prev_hash != GENESIS_HASH
        else 0
    )
    if linked_seq is not None and linked_seq == seq - 2:
        return VerifyResult(
            False,
            count,
            f"{slug}: event #{seq - 1} was inserted into the log: event #{seq} links straight to event #{seq - 2}",
            seq - 1,
            slug,
            PROBLEM_INSERTED,
        )
    if linked_seq is not None and linked_seq != seq:
        return VerifyResult(
            False,
            count,
            f"{slug}: event #{seq} ({action}) is out of order: it was recorded "
            f"right after event #{linked_seq}, not #{seq - 1}",
            seq,
            slug,
            PROBLEM_ORDER,
        )
    return VerifyResult(
        False,
        count,
        f"{slug}: event #{seq} ({action}) does not link to event #{seq - 1}: it "
        f"was inserted or forged, or an event before it was removed",
        seq,
        slug,
        PROBLEM_INSERTED,
    )


def _verify_workspace(workspace: Workspace) -> VerifyResult:
    slug = workspace.slug
    # The head is read first: events appended while we walk lie beyond it and are not judged.
    head = AuditChain.objects.filter(workspace=workspace).values_list("last_seq", "last_hash").first()
    last_seq, last_hash = head if head else (0, GENESIS_HASH)
    expected_seq = 1
    prev = GENESIS_HASH
    count = 0
    sha256 = hashlib.sha256
    ws_id = workspace.pk
    for (
        seq,
        action,
        actor_id,
        actor_label,
        subject_type,
        subject_id,
        data,
        ip,
        ua,
        created_at,
        prev_hash,
        stored,
    ) in _chain_rows(workspace, last_seq):
        if seq != expected_seq:
            if seq > expected_seq:
                gap = f"#{expected_seq}" if seq == expected_seq + 1 else f"#{expected_seq} to #{seq - 1}"
                return VerifyResult(
                    False,
                    count,
                    f"{slug}: event {gap} is missing: the log jumps from #{expected_seq - 1} to #{seq}",
                    expected_seq,
                    slug,
                    PROBLEM_MISSING,
                )
            return VerifyResult(False, count, f"{slug}: event #{seq} appears twice", seq, slug, PROBLEM_ORDER)
        if prev_hash != prev:
            return _broken_link(workspace, seq, action, prev_hash, count)
        content = _canonical(
            ws_id, seq, action, actor_id, actor_label, subject_type, subject_id, data, ip, ua, created_at, prev_hash
        )
        if sha256(content.encode()).hexdigest() != stored:
            return VerifyResult(
                False,
                count,
                f"{slug}: event #{seq} ({action}) was changed after it was recorded",
                seq,
                slug,
                PROBLEM_CHANGED,
            )
        prev = stored
        expected_seq += 1
        count += 1
    if count < last_seq:
        gap = f"event #{last_seq} is" if count + 1 == last_seq else f"events #{count + 1} to #{last_seq} are"
        return VerifyResult(
            False,
            count,
            f"{slug}: {gap} missing from the end of the log (it was cut short)",
            count + 1,
            slug,
            PROBLEM_TRUNCATED,
        )
    if count and prev != last_hash:
        return VerifyResult(
            False,
            count,
            f"{slug}: event #{count} does not match the recorded end of the log (it was replaced)",
            count,
            slug,
            PROBLEM_HEAD,
        )
    # Events past the head: max(seq) is read before the head again, so a concurrent append (event and
    # head commit together) can never look like an intruder.
    highest = AuditEvent.objects.filter(workspace=workspace).aggregate(m=Max("seq"))["m"] or 0
    current_head = AuditChain.objects.filter(workspace=workspace).values_list("last_seq", flat=True).first() or 0
    if highest > current_head:
        return VerifyResult(
            False,
            count,
            f"{slug}: event #{current_head + 1} was added outside the audit log (the log ends at #{current_head})",
            current_head + 1,
            slug,
            PROBLEM_INSERTED,
        )
    return VerifyResult(True, count, f"{slug}: verified {count} events", None, slug)


def audit_verify(*, workspace: Workspace | None = None) -> VerifyResult:
    """Walk the chain(s). Streams rows, so memory stays flat however long the chain is."""
    if workspace is not None:
        return _verify_workspace(workspace)
    total = 0
    for ws in list(Workspace.objects.order_by("pk")):
        result = _verify_workspace(ws)
        if not result.ok:
            return result
        total += result.verified
    return VerifyResult(True, total, f"verified {total} events")
