"""Appending several events to one workspace's chain at once: one lock of the chain head, one statement.

A production run's cell records its image, its job and the job's screening; preparing a run records a
job and its prompt's screening for each of fifty cells. Appended one by one, each event costs its own
lock of the head and its own insert. Inside ``with audit_batch(workspace):`` the chain's ``audit_append``
keeps the workspace's events in order instead, and the block's end numbers and hashes them exactly as
single appends would (same sequence, same canonical content) and writes them together.

Lock order is unchanged, only later: the head is still the transaction's last lock, taken when the block
closes, after every row the events describe. Use it inside the transaction of the change (it refuses
otherwise). An append after the block in the same transaction locks the head the batch already holds and
follows its events. A block left by an exception writes nothing: its transaction rolls back anyway.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from studio.core.audit.chain import (
    _EVENT_FIELDS,
    _announce,
    _lock_head,
    audit_event_committed,
    event_hash,
    open_batch,
)
from studio.core.models import AuditChain, AuditEvent, Workspace


@dataclass
class AuditBatch:
    workspace: Workspace
    events: list[AuditEvent] = field(default_factory=list)


@contextmanager
def audit_batch(workspace: Workspace) -> Iterator[AuditBatch]:
    """Collect this block's appends to ``workspace``'s chain and write them when it ends. A batch already
    open for the same workspace takes them instead (nested blocks write once, at the outer end)."""
    current = open_batch.get()
    if current is not None and current.workspace.pk == workspace.pk:
        yield current
        return
    if not connection.in_atomic_block:
        raise RuntimeError("audit_batch() belongs inside the transaction whose changes its events describe.")
    batch = AuditBatch(workspace=workspace)
    token = open_batch.set(batch)
    try:
        yield batch
    finally:
        open_batch.reset(token)
    audit_batch_write(batch)


def audit_batch_write(batch: AuditBatch) -> None:
    """Number, hash and write the batch's events under one lock of the head (the transaction's last)."""
    if not batch.events:
        return
    chain_id, last_seq, last_hash = _lock_head(batch.workspace)
    now = timezone.now()  # stamped once the head is held, as single appends are: times rise with the sequence
    for event in batch.events:
        event.seq, event.prev_hash, event.created_at = last_seq + 1, last_hash, now
        event.hash = event_hash(event)
        last_seq, last_hash = event.seq, event.hash
    if connection.vendor == "postgresql":
        _pg_write_many(batch.events, chain_id)
    else:
        AuditEvent.objects.bulk_create(batch.events)
        AuditChain.objects.filter(pk=chain_id).update(last_seq=last_seq, last_hash=last_hash)
    if audit_event_committed.receivers:
        for event in batch.events:
            transaction.on_commit(functools.partial(_announce, event))
    batch.events = []


@functools.cache
def _pg_write_many_sql(count: int) -> str:
    """The events and the head's move in one statement (as a single append does, for ``count`` rows)."""
    event, chain = AuditEvent._meta, AuditChain._meta
    q = connection.ops.quote_name
    columns = ", ".join(q(event.get_field(name).column) for name in _EVENT_FIELDS)
    casts = {"data": "%s::jsonb", "ip": "%s::inet"}
    one = "(" + ", ".join(casts.get(name, "%s") for name in _EVENT_FIELDS) + ")"
    pk = q(event.pk.column)
    return (
        f"WITH ins AS (INSERT INTO {q(event.db_table)} ({columns}) VALUES {', '.join([one] * count)} "  # noqa: S608
        f"RETURNING {pk}) "
        f"UPDATE {q(chain.db_table)} SET {q('last_seq')} = %s, {q('last_hash')} = %s "
        f"WHERE {q(chain.pk.column)} = %s RETURNING (SELECT array_agg({pk} ORDER BY {pk}) FROM ins)"
    )


def _pg_write_many(events: list[AuditEvent], chain_id: int) -> None:
    params: list = []
    data_at = _EVENT_FIELDS.index("data")
    for event in events:
        row = [getattr(event, event._meta.get_field(name).attname) for name in _EVENT_FIELDS]
        row[data_at] = json.dumps(event.data)
        params += row
    last = events[-1]
    with connection.cursor() as cursor:
        cursor.execute(_pg_write_many_sql(len(events)), [*params, last.seq, last.hash, chain_id])
        ids = cursor.fetchone()[0]
    for event, pk in zip(events, ids, strict=True):  # ids come from one sequence, in insertion order
        event.pk = pk
        event._state.adding = False
        event._state.db = connection.alias
