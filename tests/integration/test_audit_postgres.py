"""The audit chain on real PostgreSQL: concurrent appends never fork it, the trigger refuses UPDATE and
DELETE, and values come back from jsonb/inet exactly as they were hashed.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/imprimatur .venv/bin/pytest -m integration \\
        tests/integration/test_audit_postgres.py
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, connections, transaction

from studio.core import audit
from studio.core.audit import RequestMeta, audit_append, audit_verify
from studio.core.models import AuditChain, AuditEvent
from tests import factories as f

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.fail("these tests need PostgreSQL: set DATABASE_URL=postgres://... (run through `make test`)")


def _hammer(workspace, *, threads: int, per_thread: int, hold_seconds: float = 0.0) -> list[BaseException]:
    """Append from many threads (each with its own connection) released at the same moment."""
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                with transaction.atomic():  # as a service would: the append inside the change's transaction
                    audit_append(
                        workspace=workspace,
                        actor=None,
                        action="studio.test.concurrent",
                        subject_type="studio.variant",
                        subject_id=n * 1000 + i,
                        data={"thread": n, "i": i},
                    )
                    if hold_seconds:
                        threading.Event().wait(hold_seconds)  # keep the head locked while others queue
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    return errors


def test_concurrent_appends_never_fork_the_chain():
    workspace = f.WorkspaceFactory(slug="busy")  # no chain head yet: the first appends also race to create it
    errors = _hammer(workspace, threads=8, per_thread=25)
    assert errors == []
    seqs = list(AuditEvent.objects.filter(workspace=workspace).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 201))
    hashes = list(AuditEvent.objects.filter(workspace=workspace).order_by("seq").values_list("prev_hash", "hash"))
    assert len({h for _, h in hashes}) == 200
    assert all(prev == hashes[i - 1][1] for i, (prev, _) in enumerate(hashes) if i)
    assert AuditChain.objects.get(workspace=workspace).last_seq == 200
    result = audit_verify(workspace=workspace)
    assert (result.ok, result.verified) == (True, 200), result.message


def test_slow_transactions_queue_behind_the_head_lock():
    workspace = f.WorkspaceFactory(slug="slow")
    audit_append(workspace=workspace, actor=None, action="studio.test.first")
    assert _hammer(workspace, threads=4, per_thread=3, hold_seconds=0.02) == []
    assert audit_verify(workspace=workspace).verified == 13


def test_trigger_refuses_update_and_delete():
    workspace = f.WorkspaceFactory(slug="locked")
    event = audit_append(workspace=workspace, actor=None, action="studio.test.locked", data={"v": 1})
    with pytest.raises(DatabaseError, match="append-only: UPDATE refused"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(data={"v": 2})
    with pytest.raises(DatabaseError, match="append-only: DELETE refused"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(DatabaseError, match="append-only: UPDATE refused"), connection.cursor() as cursor:
        cursor.execute("UPDATE approvals_auditevent SET seq = seq + 1")
    assert AuditEvent.objects.get(pk=event.pk).data == {"v": 1}
    assert audit_verify(workspace=workspace).ok


def test_verify_on_postgres_names_a_change_made_behind_the_triggers_back():
    """A database owner can switch the trigger off; the hash chain still names what changed."""
    workspace = f.WorkspaceFactory(slug="owner")
    for i in range(3):
        audit_append(workspace=workspace, actor=None, action=f"studio.test.step{i + 1}", data={"i": i})
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE approvals_auditevent DISABLE TRIGGER approvals_auditevent_append_only")
        try:
            cursor.execute(
                "UPDATE approvals_auditevent SET data = '{\"i\": 42}' WHERE workspace_id = %s AND seq = 2",
                [workspace.pk],
            )
        finally:
            cursor.execute("ALTER TABLE approvals_auditevent ENABLE TRIGGER approvals_auditevent_append_only")
    result = audit_verify(workspace=workspace)
    assert (result.ok, result.broken_seq, result.problem) == (False, 2, audit.PROBLEM_CHANGED)


def test_values_round_trip_through_jsonb_and_inet_unchanged():
    workspace = f.WorkspaceFactory(slug="roundtrip")
    token = audit._request_meta.set(RequestMeta(ip=audit._normalise_ip("2001:DB8:0:0:0:0:0:1"), user_agent="UA"))
    try:
        audit_append(
            workspace=workspace,
            actor=f.UserFactory(username="ünïcode"),
            action="studio.test.values",
            data={
                "big": 1e20,
                "small": 1.5e-10,
                "money": Decimal("10.50"),
                "text": "naïve ✓",
                "nested": {"z": [1, {"b": 2, "a": 1}], "a": True},
                "float": 1.0,
            },
        )
    finally:
        audit._request_meta.reset(token)
    token = audit._request_meta.set(RequestMeta(ip=audit._normalise_ip("::ffff:192.0.2.7")))
    try:
        audit_append(workspace=workspace, actor=None, action="studio.test.mapped")
    finally:
        audit._request_meta.reset(token)
    stored = list(AuditEvent.objects.filter(workspace=workspace).order_by("seq"))
    assert [e.ip for e in stored] == ["2001:db8::1", "192.0.2.7"]
    assert all(audit.event_hash(e) == e.hash for e in stored)
    assert audit_verify(workspace=workspace).ok


def test_batches_and_single_appends_at_once_never_fork_the_chain():
    """``audit_batch`` writes its events in one statement on PostgreSQL (the CTE with many rows): threads
    writing batches of 1-5 events and single appends at the same moment leave one verifiable chain."""
    from studio.core.audit import audit_batch

    workspace = f.WorkspaceFactory()
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            barrier.wait()
            for i in range(8):
                with transaction.atomic():
                    if n % 2:
                        audit_append(workspace=workspace, actor=None, action="studio.test.single",
                                     subject_type="studio.variant", subject_id=n, data={"i": i})  # fmt: skip
                        continue
                    with audit_batch(workspace):
                        for k in range(1 + i % 5):
                            audit_append(workspace=workspace, actor=None, action="studio.test.batched",
                                         subject_type="studio.variant", subject_id=n, data={"i": i, "k": k,
                                         "price": Decimal("0.000001")})  # fmt: skip
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert not errors, errors
    singles, batched = 3 * 8, 3 * sum(1 + i % 5 for i in range(8))
    seqs = list(AuditEvent.objects.filter(workspace=workspace).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, singles + batched + 1))
    assert AuditChain.objects.get(workspace=workspace).last_seq == len(seqs)
    assert audit_verify(workspace=workspace).ok
