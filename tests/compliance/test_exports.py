"""Audit exports: streamed CSV and JSON that parse back to the events, filters, and `manage.py audit_export`."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models.query import QuerySet
from django.http import StreamingHttpResponse

from approvals.compliance import exports
from approvals.compliance.exports import AuditFilter, export_response, iter_export
from studio.core.audit import audit_append
from studio.core.audit import chain as audit_chain
from studio.core.models import AuditEvent
from tests import factories as f

pytestmark = pytest.mark.django_db


def _append_on(day: int, monkeypatch, **kwargs) -> AuditEvent:
    """Append as if on 2026-03-<day> (events are append-only: they cannot be back-dated afterwards)."""
    with monkeypatch.context() as patch:
        patch.setattr(audit_chain.timezone, "now", lambda: datetime(2026, 3, day, 12, tzinfo=UTC))
        return audit_append(**kwargs)


@pytest.fixture
def events(workspace, monkeypatch):
    ann = f.UserFactory(username="ann", first_name="Ann", last_name="Lee")
    other = f.WorkspaceFactory(slug="other")
    return [
        _append_on(
            1,
            monkeypatch,
            workspace=workspace,
            actor=ann,
            action="studio.job.created",
            subject_type="studio.generationjob",
            subject_id=1,
            data={"prompt": 'Lemons, "fresh"\nand, bright', "cost": "0.04"},
        ),
        _append_on(
            2,
            monkeypatch,
            workspace=workspace,
            actor=None,
            action="approvals.safety.screened",
            subject_type="studio.variant",
            subject_id=7,
            data={"verdict": "allow"},
        ),
        _append_on(
            3,
            monkeypatch,
            workspace=workspace,
            actor=ann,
            action="approvals.review.approved",
            subject_type="approvals.review",
            subject_id=3,
            data={"note": "ok"},
        ),
        _append_on(
            2,
            monkeypatch,
            workspace=other,
            actor=None,
            action="studio.job.created",
            subject_type="studio.generationjob",
            subject_id=2,
            data={},
        ),
    ]


def _csv(filters: AuditFilter) -> list[dict]:
    return list(csv.DictReader(io.StringIO("".join(iter_export(filters, "csv")))))


def _json(filters: AuditFilter) -> list[dict]:
    return json.loads("".join(iter_export(filters, "json")))


def test_csv_parses_back_to_every_event_in_chain_order(workspace, events):
    rows = _csv(AuditFilter(workspace_ids=(workspace.pk,)))
    assert [(r["workspace"], r["seq"], r["action"]) for r in rows] == [
        ("acme", "1", "studio.job.created"),
        ("acme", "2", "approvals.safety.screened"),
        ("acme", "3", "approvals.review.approved"),
    ]
    assert tuple(rows[0]) == exports.EXPORT_COLUMNS
    assert json.loads(rows[0]["data"]) == {"prompt": 'Lemons, "fresh"\nand, bright', "cost": "0.04"}
    assert rows[0]["actor"] == "Ann Lee (ann)"
    assert rows[1]["actor"] == "system"
    assert rows[1]["prev_hash"] == rows[0]["hash"] == events[0].hash
    assert rows[0]["created_at"] == "2026-03-01T12:00:00.000000+00:00"


def test_json_is_one_valid_array_with_the_data_as_objects(workspace, events):
    rows = _json(AuditFilter())
    assert len(rows) == 4
    assert rows[0]["data"]["prompt"] == 'Lemons, "fresh"\nand, bright'
    assert {r["workspace"] for r in rows} == {"acme", "other"}
    assert [r["hash"] for r in rows if r["workspace"] == "acme"] == [e.hash for e in events[:3]]


def test_empty_exports_are_still_valid(workspace):
    assert _json(AuditFilter(workspace_ids=(workspace.pk,))) == []
    assert _csv(AuditFilter(workspace_ids=(workspace.pk,))) == []
    assert "".join(iter_export(AuditFilter(), "csv")).startswith("workspace,seq,created_at,action")


@pytest.mark.parametrize(
    ("filters", "expected_seqs"),
    [
        (AuditFilter(since=date(2026, 3, 2)), [("acme", 2), ("acme", 3), ("other", 1)]),
        (AuditFilter(until=date(2026, 3, 2)), [("acme", 1), ("acme", 2), ("other", 1)]),
        (AuditFilter(since=date(2026, 3, 2), until=date(2026, 3, 2)), [("acme", 2), ("other", 1)]),
        (AuditFilter(action="approvals."), [("acme", 2), ("acme", 3)]),
        (AuditFilter(actor="ann"), [("acme", 1), ("acme", 3)]),
        (AuditFilter(actor="system"), [("acme", 2), ("other", 1)]),
        (AuditFilter(subject_type="studio.variant", subject_id="7"), [("acme", 2)]),
    ],
)
def test_filters(workspace, events, filters, expected_seqs):
    rows = _json(filters)
    assert [(r["workspace"], r["seq"]) for r in rows] == expected_seqs


def test_spreadsheet_formulas_are_neutralised_in_csv_only(workspace):
    mallory = f.UserFactory(username='=HYPERLINK("http://x")')
    audit_append(workspace=workspace, actor=mallory, action="studio.test.formula")
    assert _csv(AuditFilter())[0]["actor"] == '\'=HYPERLINK("http://x")'
    assert _json(AuditFilter())[0]["actor"] == '=HYPERLINK("http://x")'


def test_large_exports_stream_in_chunks_from_a_database_iterator(workspace, monkeypatch, django_assert_num_queries):
    for i in range(450):
        audit_append(workspace=workspace, actor=None, action="studio.test.bulk", data={"i": i})
    chunk_sizes = []
    real_iterator = QuerySet.iterator

    def spy(self, chunk_size=None):
        chunk_sizes.append(chunk_size)
        return real_iterator(self, chunk_size=chunk_size)

    monkeypatch.setattr(QuerySet, "iterator", spy)
    with django_assert_num_queries(0):  # nothing is read before the response is consumed
        response = export_response(filters=AuditFilter(), fmt="json", filename="x.json")
    assert isinstance(response, StreamingHttpResponse)
    chunks = [c.decode() for c in response.streaming_content]
    assert chunk_sizes == [exports.EXPORT_CHUNK_SIZE]
    assert len(chunks) > 2
    assert [r["data"]["i"] for r in json.loads("".join(chunks))] == list(range(450))
    assert response["Content-Disposition"] == 'attachment; filename="x.json"'


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="use csv or json"):
        iter_export(AuditFilter(), "xml")


# --- manage.py audit_export ------------------------------------------------------------------------------


def test_command_writes_csv_to_stdout(workspace, events):
    out = io.StringIO()
    call_command("audit_export", "--workspace", "acme", "--format", "csv", stdout=out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["seq"] for r in rows] == ["1", "2", "3"]


def test_command_writes_json_to_a_file_with_since(workspace, events, tmp_path):
    target = tmp_path / "audit.json"
    call_command(
        "audit_export",
        "--workspace",
        "acme",
        "--format",
        "json",
        "--since",
        "2026-03-02",
        "--output",
        str(target),
        stdout=io.StringIO(),
    )
    assert [r["action"] for r in json.loads(target.read_text())] == [
        "approvals.safety.screened",
        "approvals.review.approved",
    ]


def test_command_refuses_unknown_workspace_and_bad_dates(workspace):
    with pytest.raises(CommandError, match="No workspace with slug 'nope'") as missing:
        call_command("audit_export", "--workspace", "nope", stdout=io.StringIO())
    assert missing.value.returncode == 2
    with pytest.raises(CommandError, match="not a date"):
        call_command("audit_export", "--workspace", "acme", "--since", "yesterday", stdout=io.StringIO())
