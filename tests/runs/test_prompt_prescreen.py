"""Preparing a run screens each distinct prompt once and records it on every job, so no cell screens its
prompt again; a prompt the screening would stop is left for the cell's own check, which blocks it."""

from __future__ import annotations

import pytest

from studio.core.models import AuditEvent
from studio.generation.models import JobStatus
from studio.runs import launching, services
from studio.runs.models import CellStatus
from studio.safety.models import SafetyAssessment, SafetyRule, SafetyVerdict

pytestmark = pytest.mark.django_db


def _prompt_rows(job_id):
    return SafetyAssessment.objects.filter(job_id=job_id, stage="prompt")


def test_preparing_screens_each_distinct_prompt_once_and_records_it_on_each_job(spec, marketer, monkeypatch):
    screened_texts = []
    real = launching.screen_prompts

    def spy(*, workspace, texts, **kwargs):
        screened_texts.extend(texts)
        return real(workspace=workspace, texts=texts, **kwargs)

    monkeypatch.setattr(launching, "screen_prompts", spy)
    run = services.run_launch(actor=marketer, spec=spec(), enqueue=False)  # 2 formats x 2 locales
    jobs = [cell.job for cell in run.cells.select_related("job").order_by("pk")]
    assert len(jobs) == 4
    assert len(screened_texts) == 2  # one per locale, not one per cell
    assert len(set(screened_texts)) == 2
    for job in jobs:
        rows = list(_prompt_rows(job.pk))
        assert [(r.screener, r.attempts, r.screened_text) for r in rows] == [("local", 1, job.prompt)]
        events = AuditEvent.objects.filter(action="approvals.safety.screened", subject_id=str(job.pk))
        assert events.count() == 1
        assert events.get().data["assessments"] == [rows[0].pk]


def test_a_cell_whose_prompt_was_screened_while_preparing_does_not_screen_it_again(spec, marketer):
    run = services.run_launch(actor=marketer, spec=spec(locales=["en"]), enqueue=False)
    cell = run.cells.order_by("pk").first()
    done = services.cell_execute(cell_id=cell.pk)
    assert done.status == CellStatus.SUCCEEDED
    assert _prompt_rows(cell.job_id).count() == 1


def test_a_prompt_the_rules_block_is_left_to_the_cell_which_blocks_it_without_a_call(spec, marketer):
    SafetyRule.objects.create(sector="", category="violence", pattern="春のセール", verdict=SafetyVerdict.BLOCK)
    run = services.run_launch(actor=marketer, spec=spec(), enqueue=False)
    by_locale = {}
    for cell in run.cells.select_related("job"):
        by_locale.setdefault(cell.locale, []).append(cell)
    assert all(_prompt_rows(c.job_id).count() == 1 for c in by_locale["en"])
    assert all(_prompt_rows(c.job_id).count() == 0 for c in by_locale["ja"])
    blocked = services.cell_execute(cell_id=by_locale["ja"][0].pk)
    assert blocked.status == CellStatus.BLOCKED
    blocked.job.refresh_from_db()
    assert blocked.job.status == JobStatus.BLOCKED
    assert blocked.job.actual_cost == 0
    assert _prompt_rows(blocked.job_id).get().verdict == SafetyVerdict.BLOCK


def test_a_screening_that_fails_while_preparing_leaves_the_cells_to_screen_themselves(spec, marketer, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("policy table unreadable")

    monkeypatch.setattr(launching, "screen_prompts", broken)
    run = services.run_launch(actor=marketer, spec=spec(locales=["en"]), enqueue=False)
    cell = run.cells.order_by("pk").first()
    assert _prompt_rows(cell.job_id).count() == 0
    assert services.cell_execute(cell_id=cell.pk).status == CellStatus.SUCCEEDED
    assert _prompt_rows(cell.job_id).count() == 1
