"""The runs' repair path (beat task ``runs.runs_sweep``, every minute): a run survives worker restarts.

Publishing is the outbox's job (a cell's message is committed with the cell and re-sent when the broker
was down). What is left to repair:

- a cell "running" whose worker stopped: its job ended but the cell was never recorded (the worker died
  between the two) is recorded now; one whose job is still open and was not touched for longer than a
  job's lease is published again (the next delivery takes over the job's expired lease);
- a run that made no progress for ``STALL`` while cells wait "queued" (a broker that lost messages, e.g.
  the filesystem broker of ``make run`` after a crash): its queued cells are published again;
- a run whose cells have all ended but which was never closed is finished.

Duplicates are harmless: the cell task re-checks state under its row locks and a finished cell does
nothing. Each re-publish is audited (``runs.cell.requeued``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone

from studio.core.outbox import outbox_enqueue
from studio.generation.services.sweeper import job_lease
from studio.runs import events
from studio.runs.models import CellStatus, ProductionRun, RunCell, RunStatus
from studio.runs.services import BATCH_QUEUE, CELL_TASK, _run_finish_if_done, _run_lock, cell_record

STALL = timedelta(minutes=10)
BATCH = 500


@dataclass
class RunsSweepReport:
    recorded: list[int] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)
    finished: list[int] = field(default_factory=list)

    @property
    def repairs(self) -> int:
        return len(self.recorded) + len(self.requeued) + len(self.finished)


def _requeue(cell_id: int, *, reason: str) -> bool:
    with transaction.atomic():
        run_id = RunCell.objects.values_list("run_id", flat=True).get(pk=cell_id)
        run = _run_lock(run_id)
        cell = RunCell.objects.select_for_update(of=("self",), no_key=True).get(pk=cell_id)
        if cell.status not in (CellStatus.QUEUED, CellStatus.RUNNING) or run.status != RunStatus.RUNNING:
            return False
        cell.queued_at = timezone.now()
        cell.save(update_fields=["queued_at", "updated_at"])
        outbox_enqueue(CELL_TASK, [cell.pk], queue=BATCH_QUEUE, workspace=run.workspace)
        events.cell_requeued(cell=cell, run=run, reason=reason)
    return True


def runs_sweep(*, now: datetime | None = None) -> RunsSweepReport:
    now = now or timezone.now()
    report = RunsSweepReport()
    lease = job_lease()
    running = RunCell.objects.filter(status=CellStatus.RUNNING, run__status=RunStatus.RUNNING).select_related("job")
    for cell in running.filter(updated_at__lt=now - lease).order_by("pk")[:BATCH]:
        if cell.job is not None and cell.job.is_terminal:
            cell_record(cell.pk)
            report.recorded.append(cell.pk)
        elif _requeue(cell.pk, reason="its worker stopped before finishing"):
            report.requeued.append(cell.pk)
    # Stalled runs: queued cells and nothing touched for STALL.
    waiting = RunCell.objects.filter(run=OuterRef("pk"), status=CellStatus.QUEUED)
    stalled = (
        ProductionRun.objects.filter(status=RunStatus.RUNNING)
        .annotate(last_touch=Max("cells__updated_at"))
        .filter(Exists(waiting), last_touch__lt=now - STALL)
        .values_list("pk", flat=True)
    )
    for run_id in list(stalled)[:BATCH]:
        queued = RunCell.objects.filter(run_id=run_id, status=CellStatus.QUEUED).order_by("pk")
        for cell_id in queued.values_list("pk", flat=True)[:BATCH]:
            if _requeue(cell_id, reason="the run made no progress, so its waiting cells were sent again"):
                report.requeued.append(cell_id)
    open_runs = ProductionRun.objects.filter(status__in=(RunStatus.RUNNING, RunStatus.CANCELLING)).exclude(
        cells__status__in=(CellStatus.QUEUED, CellStatus.RUNNING)
    )
    for run_id in open_runs.values_list("pk", flat=True)[:BATCH]:
        with transaction.atomic():
            if _run_finish_if_done(_run_lock(run_id)):
                report.finished.append(run_id)
    return report
