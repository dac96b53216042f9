"""The audit hash chain: appends, normalisation, and `manage.py audit_verify` naming each kind of tampering."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import RequestFactory

from studio.core import audit
from studio.core.audit import (
    AuditRequestMiddleware,
    UnknownEventType,
    actor_name,
    audit_append,
    audit_record,
    audit_verify,
    event_hash,
)
from studio.core.audit import chain as audit_chain
from studio.core.events import EventType
from studio.core.management.commands.audit_verify import Command as VerifyCommand
from studio.core.models import AuditChain, AuditEvent
from tests import factories as f

pytestmark = pytest.mark.django_db


def run_verify(capsys, *args: str) -> tuple[int, str, str]:
    """Run the command the way a scheduler would (argv, exit code), in-process on the test database."""
    code = 0
    try:
        VerifyCommand().run_from_argv(["manage.py", "audit_verify", *args])
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out.strip(), captured.err.strip()


@pytest.fixture
def actor(workspace):
    return f.UserFactory(username="ann", first_name="Ann", last_name="Lee")


@pytest.fixture
def chain(workspace, actor):
    """Five events in the workspace's chain."""
    return [
        audit_append(
            workspace=workspace,
            actor=actor,
            action=f"studio.test.step{i}",
            subject_type="studio.variant",
            subject_id=i,
            data={"step": i},
        )
        for i in range(1, 6)
    ]


def _forge(workspace, *, seq: int, prev_hash: str, action: str = "approvals.review.approved") -> AuditEvent:
    """What an attacker with database access could write: a self-consistent row with a recomputed hash."""
    forged = AuditEvent(
        workspace=workspace,
        seq=seq,
        action=action,
        actor=None,
        actor_label="system",
        subject_type="studio.variant",
        subject_id="99",
        data={"forged": True},
        created_at=AuditEvent.objects.get(workspace=workspace, seq=1).created_at,
        prev_hash=prev_hash,
    )
    forged.hash = event_hash(forged)
    forged.save(force_insert=True)
    return forged


def _shift_up(workspace, from_seq: int) -> None:
    """Make room for an inserted event (highest first, so the unique (workspace, seq) never clashes)."""
    for event in AuditEvent.objects.filter(workspace=workspace, seq__gte=from_seq).order_by("-seq"):
        AuditEvent.objects.filter(pk=event.pk).update(seq=event.seq + 1)


# --- appends -------------------------------------------------------------------------------------------


def test_events_link_into_one_chain_and_the_head_follows(workspace, chain):
    stored = list(AuditEvent.objects.filter(workspace=workspace).order_by("seq"))
    assert [e.seq for e in stored] == [1, 2, 3, 4, 5]
    assert stored[0].prev_hash == audit.GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in zip(stored, stored[1:], strict=False))
    head = AuditChain.objects.get(workspace=workspace)
    assert (head.last_seq, head.last_hash) == (5, stored[-1].hash)
    assert stored[0].actor_label == "Ann Lee (ann)"


def test_each_workspace_has_its_own_chain(workspace, chain):
    other = f.WorkspaceFactory(slug="other")
    event = audit_append(workspace=other, actor=None, action="studio.test.other")
    assert (event.seq, event.prev_hash) == (1, audit.GENESIS_HASH)
    assert audit_verify().verified == 6


def test_data_is_normalised_so_the_stored_row_hashes_the_same(workspace):
    data = {
        "price": Decimal("0.0420"),
        "day": date(2026, 4, 21),
        "id": uuid.UUID(int=7),
        "huge": 1e20,
        "nan": float("nan"),
        "text": "a\x00b",
        "nested": {"b": [1, 2.5], "a": None},
    }
    event = audit_append(workspace=workspace, actor=None, action="studio.test.normalise", data=data)
    reloaded = AuditEvent.objects.get(pk=event.pk)
    assert reloaded.data == {
        "price": "0.0420",
        "day": "2026-04-21",
        "id": str(uuid.UUID(int=7)),
        "huge": 10**20,
        "nan": "nan",
        "text": "a\ufffdb",
        "nested": {"b": [1, 2.5], "a": None},
    }
    assert event_hash(reloaded) == reloaded.hash
    assert audit_verify(workspace=workspace).ok


def test_append_cost_does_not_grow_with_the_chain(workspace, django_assert_num_queries):
    audit_append(workspace=workspace, actor=None, action="studio.test.first")
    with django_assert_num_queries(3):  # lock the head, insert the event, move the head
        audit_append(workspace=workspace, actor=None, action="studio.test.second")
    for i in range(40):
        audit_append(workspace=workspace, actor=None, action=f"studio.test.fill{i}")
    with django_assert_num_queries(3):
        audit_append(workspace=workspace, actor=None, action="studio.test.later")


def test_subject_model_gives_type_and_id(workspace):
    variant = f.VariantFactory(job__draft_version__draft__campaign__workspace=workspace)
    event = audit_append(workspace=workspace, actor=None, action="studio.variant.created", subject=variant)
    assert (event.subject_type, event.subject_id) == ("studio.variant", str(variant.pk))


def test_anonymous_actor_is_recorded_as_system(workspace):
    event = audit_append(workspace=workspace, actor=AnonymousUser(), action="studio.test.anon")
    assert (event.actor_id, event.actor_label) == (None, "system")


def test_middleware_records_normalised_ip_and_user_agent(workspace):
    seen = {}

    def view(request):
        seen["event"] = audit_append(workspace=workspace, actor=None, action="studio.test.request")
        return HttpResponse()

    request = RequestFactory().get("/", REMOTE_ADDR="2001:DB8:0:0::1", HTTP_USER_AGENT="Browser/1.0")
    AuditRequestMiddleware(view)(request)
    event = AuditEvent.objects.get(pk=seen["event"].pk)
    assert (event.ip, event.user_agent) == ("2001:db8::1", "Browser/1.0")
    assert audit_verify(workspace=workspace).ok
    outside = audit_append(workspace=workspace, actor=None, action="studio.test.after")
    assert (outside.ip, outside.user_agent) == (None, "")


# --- audit_verify command --------------------------------------------------------------------------------


def test_intact_chain_verifies(capsys, workspace, chain):
    assert run_verify(capsys) == (0, "verified 5 events", "")
    assert run_verify(capsys, "--workspace", "acme") == (0, "verified 5 events", "")


def test_empty_workspace_verifies_zero_events(capsys, workspace):
    assert run_verify(capsys, "--workspace", "acme") == (0, "verified 0 events", "")


def test_unknown_workspace_exits_2_with_one_line(capsys, workspace):
    code, out, err = run_verify(capsys, "--workspace", "nope")
    assert code == 2
    assert out == ""
    assert err.count("\n") == 0
    assert "No workspace with slug 'nope'" in err


def test_changed_content_is_named(capsys, workspace, chain):
    AuditEvent.objects.filter(workspace=workspace, seq=3).update(data={"step": 300})
    code, out, err = run_verify(capsys)
    assert code == 1
    assert "acme: event #3 (studio.test.step3) was changed after it was recorded" in err
    assert audit_verify().problem == audit.PROBLEM_CHANGED


def test_changed_actor_label_is_named(capsys, workspace, chain):
    AuditEvent.objects.filter(workspace=workspace, seq=2).update(actor_label="Someone Else")
    code, _, err = run_verify(capsys, "--workspace", "acme")
    assert code == 1
    assert "event #2" in err
    assert "changed" in err


def test_deleted_event_is_named(capsys, workspace, chain):
    AuditEvent.objects.filter(workspace=workspace, seq=3).delete()
    code, _, err = run_verify(capsys)
    assert code == 1
    assert "acme: event #3 is missing: the log jumps from #2 to #4" in err
    assert audit_verify(workspace=workspace).broken_seq == 3


def test_deleted_first_event_is_named(capsys, workspace, chain):
    AuditEvent.objects.filter(workspace=workspace, seq=1).delete()
    code, _, err = run_verify(capsys)
    assert (code, "event #1 is missing" in err) == (1, True)


def test_swapped_order_is_named(capsys, workspace, chain):
    third = AuditEvent.objects.get(workspace=workspace, seq=3)
    fourth = AuditEvent.objects.get(workspace=workspace, seq=4)
    AuditEvent.objects.filter(pk=third.pk).update(seq=999)
    AuditEvent.objects.filter(pk=fourth.pk).update(seq=3)
    AuditEvent.objects.filter(pk=third.pk).update(seq=4)
    code, _, err = run_verify(capsys)
    assert code == 1
    assert "acme: event #3 (studio.test.step4) is out of order" in err
    assert audit_verify().problem == audit.PROBLEM_ORDER


def test_forged_event_with_wrong_link_is_named(capsys, workspace, chain):
    _shift_up(workspace, 3)
    _forge(workspace, seq=3, prev_hash="f" * 64)
    code, _, err = run_verify(capsys)
    assert code == 1
    assert "acme: event #3 (approvals.review.approved) does not link to event #2" in err
    result = audit_verify()
    assert (result.problem, result.broken_seq, result.verified) == (audit.PROBLEM_INSERTED, 3, 2)


def test_forged_event_with_correct_link_is_still_caught(capsys, workspace, chain):
    """Even a forger who copies the right link breaks the next event's link."""
    _shift_up(workspace, 3)
    _forge(workspace, seq=3, prev_hash=chain[1].hash)
    code, _, err = run_verify(capsys)
    assert code == 1
    assert "acme: event #3 was inserted into the log: event #4 links straight to event #2" in err


def test_forged_event_appended_past_the_head_is_named(capsys, workspace, chain):
    _forge(workspace, seq=6, prev_hash=chain[-1].hash)
    code, _, err = run_verify(capsys)
    assert code == 1
    assert "acme: event #6 was added outside the audit log (the log ends at #5)" in err


def test_truncated_tail_is_named(capsys, workspace, chain):
    AuditEvent.objects.filter(workspace=workspace, seq__gte=4).delete()
    code, _, err = run_verify(capsys)
    assert code == 1
    assert "acme: events #4 to #5 are missing from the end of the log (it was cut short)" in err
    assert audit_verify().problem == audit.PROBLEM_TRUNCATED


def test_replaced_last_event_is_named(capsys, workspace, chain):
    """Deleting the last event and forging a self-consistent replacement still disagrees with the head."""
    AuditEvent.objects.filter(workspace=workspace, seq=5).delete()
    _forge(workspace, seq=5, prev_hash=chain[3].hash)
    code, _, err = run_verify(capsys)
    assert code == 1
    assert "event #5 does not match the recorded end of the log" in err


def test_first_broken_workspace_fails_the_whole_run(capsys, workspace, chain):
    other = f.WorkspaceFactory(slug="other")
    audit_append(workspace=other, actor=None, action="studio.test.other")
    AuditEvent.objects.filter(workspace=workspace, seq=5).update(action="studio.test.renamed")
    assert run_verify(capsys, "--workspace", "other")[0] == 0
    code, _, err = run_verify(capsys)
    assert code == 1
    assert "acme: event #5" in err


def test_event_recorded_on_a_whole_second_verifies(workspace, monkeypatch):
    """SQLite stores such a timestamp without its fraction; verification must still read it back exactly."""
    monkeypatch.setattr(audit_chain.timezone, "now", lambda: datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC))
    audit_append(workspace=workspace, actor=None, action="studio.test.whole_second")
    assert audit_verify(workspace=workspace).ok


def test_audit_record_refuses_an_unregistered_event_type(workspace):
    stray = EventType(action="studio.test.unregistered", label="Stray", message="{actor}", subject_kind="")
    with pytest.raises(UnknownEventType):
        audit_record(stray, workspace=workspace, actor=None)
    assert not AuditEvent.objects.filter(action="studio.test.unregistered").exists()


def test_actor_names_read_as_people():
    assert (actor_name("Ann Lee (ann)"), actor_name("ann"), actor_name("system")) == ("Ann Lee", "ann", "The system")
