"""Re-checking the chain: ``audit_verify`` streams a workspace's events and names the first one that
does not fit: changed content, a missing event, a changed order, an inserted or forged event, or a log
cut short at the end. Memory stays flat however long the chain is.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Max

from studio.core.audit.chain import GENESIS_HASH, _canonical
from studio.core.models import AuditChain, AuditEvent, Workspace

VERIFY_CHUNK_SIZE = 5000

# Problems ``audit_verify`` can name (``VerifyResult.problem``).
PROBLEM_CHANGED = "content_changed"
PROBLEM_MISSING = "event_missing"
PROBLEM_ORDER = "order_changed"
PROBLEM_INSERTED = "event_inserted"
PROBLEM_TRUNCATED = "tail_missing"
PROBLEM_HEAD = "head_mismatch"


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
