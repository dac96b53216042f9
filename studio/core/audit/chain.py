"""The audit hash chain: canonical content, hashing, and the one append.

Every state change appends one ``AuditEvent`` in the same transaction as the change. Events form a
hash chain per workspace: each stores the previous event's hash and the SHA-256 of its own canonical
content. Appends lock the workspace's ``AuditChain`` row, so concurrent writers serialise and the chain
never forks (on SQLite the IMMEDIATE transaction mode serialises writers instead). An append costs three
indexed statements however long the chain is: lock the head, insert the event, move the head.

The canonical content (``_canonical``) is what every stored hash was computed from: its fields, their
order and their encoding never change, or existing chains stop verifying.

Lock order (one order for the whole product, so concurrent transactions queue instead of deadlocking):

1. the campaign row, when a change touches one;
2. job and variant rows (then reviews, stages), several rows of one kind by ascending pk;
3. the workspace's chain head, ALWAYS LAST: ``audit_append`` locks it, and every service calls its
   event builder after its own row locks, never before. Holding the head is what serialises the whole
   workspace's writers, so it is held for the shortest possible time: from the append to the commit.
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import json
import logging
import math
import re
from datetime import UTC, datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.dispatch import Signal
from django.utils import timezone

from studio.core.audit.middleware import current_request_meta
from studio.core.events import EventType, UnknownEventType, registry
from studio.core.models import AuditChain, AuditEvent, Workspace

GENESIS_HASH = "0" * 64

# The ``audit_batch`` open in this thread (or task), if any: its workspace's appends wait in it.
open_batch: contextvars.ContextVar[Any] = contextvars.ContextVar("audit_batch", default=None)

# Sent once the transaction that appended ``event`` has committed (never for a rolled-back append), so
# higher layers (webhooks) learn of events without the chain importing them. Receivers must be quick
# and must not raise: they run in the committing request or task (``send_robust`` logs their errors).
audit_event_committed = Signal()  # kwargs: event (the AuditEvent)
_signal_logger = logging.getLogger("studio.core.audit")


def _announce(event: AuditEvent) -> None:
    for receiver, result in audit_event_committed.send_robust(sender=AuditEvent, event=event):
        if isinstance(result, Exception):
            _signal_logger.error("audit_event_committed receiver %r failed: %r", receiver, result)


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


SYSTEM_LABEL = "system"
_LABEL_WITH_USERNAME = re.compile(r"^(?P<name>.+) \((?P<username>[^()]+)\)$")


def actor_label_for(actor: Any) -> str:
    """The actor snapshot stored in each event: "Full Name (username)", the username alone, or
    "system". Part of the canonical content, so this format never changes."""
    if actor is None:
        return SYSTEM_LABEL
    full = actor.get_full_name() if hasattr(actor, "get_full_name") else ""
    label = f"{full} ({actor.get_username()})" if full else actor.get_username()
    return label[:200]


def actor_name(actor_label: str) -> str:
    """The person's name as a sentence starts with it: "Ann Lee (ann)" reads "Ann Lee", a bare
    username stays as it is, and "system" reads "The system"."""
    if actor_label == SYSTEM_LABEL:
        return "The system"
    match = _LABEL_WITH_USERNAME.match(actor_label or "")
    return match["name"] if match else (actor_label or "Someone")


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

    The low-level primitive: it accepts any ``action`` string. Application code writes through
    ``audit_record`` (a registered event type, via one builder per event); tests and data repairs use
    this directly.

    No savepoint of its own: if the append fails, the caller's whole change must roll back with it.

    LOCK ORDER: the chain head is the LAST lock of the transaction. Callers lock their own rows first
    (campaign, then jobs/variants/reviews by ascending pk, see the module docstring), then append.
    Locking the head earlier would serialise the whole workspace behind one writer's row locks and can
    deadlock against a writer that took those rows first.
    """
    if actor is not None and not getattr(actor, "is_authenticated", True):
        actor = None  # an anonymous request acts as nobody in particular
    meta = current_request_meta()
    if subject_id in ("", None) and subject is not None:
        subject_id = subject.pk
    event = AuditEvent(
        workspace=workspace,
        seq=0,
        action=action,
        actor=actor,
        actor_label=actor_label_for(actor),
        subject_type=subject_type or subject_kind(subject),
        subject_id=str(subject_id),
        data=_normalise(data or {}),
        ip=meta.ip,
        user_agent=meta.user_agent,
        created_at=timezone.now(),
        prev_hash="",
    )
    batch = open_batch.get()
    if batch is not None and batch.workspace.pk == workspace.pk and connection.in_atomic_block:
        # An ``audit_batch`` collects the events of this transaction; it numbers, hashes and writes them
        # together when it closes (studio.core.audit.batch).
        batch.events.append(event)
        return event
    with transaction.atomic(savepoint=False):
        chain_id, last_seq, last_hash = _lock_head(workspace)  # the last lock taken: see LOCK ORDER
        # Stamped once the head is held, so a chain's times rise with its sequence numbers.
        event.seq, event.prev_hash, event.created_at = last_seq + 1, last_hash, timezone.now()
        event.hash = event_hash(event)
        _write(event, chain_id)
    if audit_event_committed.receivers:  # e.g. approvals.webhooks; nothing to schedule when nobody listens
        transaction.on_commit(functools.partial(_announce, event))
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
    nothing else writes to the chain.

    Refuses (``UnknownEventType``) a type whose action nobody registered: the compliance log could not
    name it, list it in its filter or render it as a sentence. The subject kind is the type's (a
    builder may pass a copy of its type with the subject's actual kind, as the safety screening does).
    """
    if event_type.action not in registry:
        raise UnknownEventType(event_type.action)
    return audit_append(
        workspace=workspace,
        actor=actor,
        action=event_type.action,
        subject=subject,
        subject_type=event_type.subject_kind,
        subject_id=subject_id,
        data=data,
    )
