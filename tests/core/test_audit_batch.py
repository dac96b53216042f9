"""Appending several events at once (``audit_batch``): the same chain single appends would make, with one
lock of the head and one write; nothing written when the block fails; refused outside a transaction."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from studio.core.audit import audit_append, audit_batch, audit_verify
from studio.core.models import AuditChain, AuditEvent
from tests import factories as f

pytestmark = pytest.mark.django_db


def _append(workspace, n: int):
    return audit_append(
        workspace=workspace, actor=None, action="studio.test.batched", subject_type="studio.variant",
        subject_id=n, data={"n": n},
    )  # fmt: skip


def test_a_batch_writes_its_events_in_order_as_one_verifiable_stretch_of_the_chain():
    workspace = f.WorkspaceFactory()
    with transaction.atomic():
        _append(workspace, 0)  # before the batch: a single append
        with audit_batch(workspace):
            events = [_append(workspace, n) for n in range(1, 5)]
            assert all(e.pk is None for e in events)  # waiting for the end of the block
        _append(workspace, 5)  # after it, in the same transaction
    rows = list(AuditEvent.objects.filter(workspace=workspace).order_by("seq"))
    assert [(r.seq, r.data["n"]) for r in rows] == [(i + 1, i) for i in range(6)]
    assert [e.pk for e in events] == [r.pk for r in rows[1:5]]
    assert [e.hash for e in events] == [r.hash for r in rows[1:5]]
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(rows, rows[1:], strict=False))
    assert AuditChain.objects.get(workspace=workspace).last_seq == 6
    assert audit_verify(workspace=workspace).ok


def test_a_batch_locks_the_head_once_for_all_its_events():
    workspace = f.WorkspaceFactory()
    with transaction.atomic():
        _append(workspace, 0)  # the chain head exists
        with CaptureQueriesContext(connection) as queries, audit_batch(workspace):
            for n in range(1, 11):
                _append(workspace, n)
    head_reads = [q for q in queries.captured_queries if "approvals_auditchain" in q["sql"].split(" WHERE ")[0]]
    assert len(queries.captured_queries) <= 3, [q["sql"][:80] for q in queries.captured_queries]
    assert len([q for q in head_reads if q["sql"].startswith("SELECT")]) == 1
    assert audit_verify(workspace=workspace).ok


def test_a_block_that_fails_writes_nothing():
    workspace = f.WorkspaceFactory()

    def fail_inside_a_batch():
        with transaction.atomic(), audit_batch(workspace):
            _append(workspace, 1)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail_inside_a_batch()
    assert not AuditEvent.objects.filter(workspace=workspace).exists()


def test_another_workspace_appends_at_once_and_nested_blocks_write_once():
    workspace, other = f.WorkspaceFactory(), f.WorkspaceFactory()
    with transaction.atomic(), audit_batch(workspace):
        _append(workspace, 1)
        theirs = _append(other, 1)
        assert theirs.pk is not None  # not this batch's chain
        with audit_batch(workspace):
            _append(workspace, 2)
        assert not AuditEvent.objects.filter(workspace=workspace).exists()
    assert AuditEvent.objects.filter(workspace=workspace).count() == 2
    assert audit_verify(workspace=workspace).ok
    assert audit_verify(workspace=other).ok


@pytest.mark.django_db(transaction=True)  # no test transaction around it
def test_a_batch_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match="inside the transaction"), audit_batch(f.WorkspaceFactory()):
        pass
