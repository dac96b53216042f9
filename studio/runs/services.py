"""Production runs: launch (reserve the whole run under the campaign lock, then prepare its cells' jobs in
chunks: ``studio.runs.launching``), run one cell, cancel, retry.

Lock order (``studio.generation.locks``): the **campaign** row, then the **run** row, then **jobs** by
primary key, then the run's **cells**, the audit chain head last. A succeeded cell's outcome is written in
its job's own record transaction (``job_execute``'s ``on_record``: the campaign, the job, then the cell,
with one write to the audit chain for the images, the job and the cell); other outcomes under the cell's
row lock (``cell_record``: cell, audit). The run's row is locked after that commit, only when no cell is
left open, so the last two cells finishing at once still finish the run exactly once; cancelling and
retrying hold the campaign first, so two cancels serialise and the second is told the run is already
cancelled. Preparing a chunk of cells (``launching``) holds the campaign and the run, then the cells
without a job; the jobs it makes are new rows nobody else waits on.

A launched cell's job is made from the planner's cell plan with the studio's launch checks (``launching``);
a retried cell's by the studio's own ``job_launch(..., enqueue=False)`` (same checks, size plan, estimate
and reservation as a single generation). Each runs by ``job_execute``; the cell's task goes to the
"batch" queue through the outbox, so interactive generations on the default queue never wait behind a
large run. Idempotent: a redelivered cell whose job already ran records its outcome once.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from studio.core.money import money_text as money
from studio.core.outbox import outbox_enqueue
from studio.generation.errors import StudioError
from studio.generation.models import JOB_TERMINAL, GenerationJob, JobStatus, Operation
from studio.generation.services.execution import job_execute
from studio.generation.services.failures import job_give_up
from studio.generation.services.launch import LaunchRequest, job_launch
from studio.lib.providers import get_provider
from studio.runs import events
from studio.runs.models import CELL_TERMINAL, CellStatus, ProductionRun, RunCell, RunStatus
from studio.runs.planning import CellPlan, RunSpec

logger = logging.getLogger(__name__)

BATCH_QUEUE = "batch"
CELL_TASK = "runs.cell_run"
# Jobs a cancel may stop: not in a provider call. A "running" job is in flight and finishes.
STOPPABLE_JOB_STATUSES = (JobStatus.QUEUED, JobStatus.SAFETY_PENDING, JobStatus.RETRYING)
JOB_TO_CELL = {
    JobStatus.SUCCEEDED: CellStatus.SUCCEEDED,
    JobStatus.FAILED: CellStatus.FAILED,
    JobStatus.BLOCKED: CellStatus.BLOCKED,
}
ACTIVE = (CellStatus.QUEUED, CellStatus.RUNNING)


class RunRefused(StudioError):
    code = "run_refused"
    status = 409


class RunAlreadyCancelled(RunRefused):
    code = "run_already_cancelled"


def _cell_job(*, actor, spec: RunSpec, plan: CellPlan) -> GenerationJob:
    """One cell's job through the studio's launch path: a generation from the draft version, or an edit of
    the approved master (its composition kept, the locale's copy, the format's own aspect)."""
    fmt = plan.target_format
    request = LaunchRequest(
        deployment=spec.deployment,
        target_width=fmt.width,
        target_height=fmt.height,
        n=spec.n,
        quality=spec.quality,
        locale=plan.locale,
        target_format=fmt,
    )
    if spec.master is None:
        return job_launch(actor=actor, version=spec.version, request=request, enqueue=False)
    return job_launch(
        actor=actor,
        version=spec.source_version,
        request=request,
        operation=Operation.LOCALISE,
        base_variant=spec.master,
        instruction=plan.instruction,
        enqueue=False,
    )


def _cells_enqueue(run: ProductionRun, cells: list[RunCell]) -> None:
    """Through the outbox, in this transaction: published after commit, re-sent if the broker was down."""
    for cell in cells:
        outbox_enqueue(CELL_TASK, [cell.pk], queue=BATCH_QUEUE, workspace=run.workspace)


def _over_budget_words(*, campaign, total: Decimal, cells: int, fitting: int, fitting_total: Decimal) -> str:
    words = (
        f"This run would cost about {money(total)} for {cells} cells, but {campaign.name} has only "
        f"{money(max(campaign.remaining, Decimal(0)))} left of its {money(campaign.budget)} budget "
        f"({money(campaign.spent_cost)} spent, {money(campaign.reserved_cost)} reserved). Nothing was launched."
    )
    if fitting:
        words += f" “Launch only what fits” would launch the first {fitting} cells for about {money(fitting_total)}."
    return words + " Or lower the variants per cell or the quality, or ask an admin to raise the budget."


# --- one cell -------------------------------------------------------------------------------------------


def _cell_start(cell_id: int) -> bool:
    """Mark the cell running; ``False`` when it has already ended. One conditional ``UPDATE`` (it locks
    only the cell's row, for that statement): the same outcome as lock, check and save, in one round trip."""
    now = timezone.now()
    started = (
        RunCell.objects.filter(pk=cell_id)
        .exclude(status__in=CELL_TERMINAL)
        .update(
            status=CellStatus.RUNNING,
            attempts=F("attempts") + 1,
            started_at=Coalesce("started_at", Value(now)),
            updated_at=now,
        )
    )
    return bool(started)


def _run_finish_if_done(run: ProductionRun) -> bool:
    """Under the run's lock: a run with no queued or running cell ends (finished, or cancelled)."""
    if run.status not in (RunStatus.RUNNING, RunStatus.CANCELLING):
        return False
    if run.preparing:  # cells still without a job: the preparation finishes the run when it is done
        return False
    if RunCell.objects.filter(run=run, status__in=ACTIVE).exists():
        return False
    from studio.runs.selectors import run_progress

    run.status = RunStatus.FINISHED if run.status == RunStatus.RUNNING else RunStatus.CANCELLED
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "finished_at"])
    progress = run_progress(run=run)
    counts = {
        "succeeded": progress.succeeded,
        "failed": progress.failed,
        "blocked": progress.blocked,
        "cancelled": progress.cancelled,
    }
    events.run_finished(run=run, counts=counts, actual=progress.cost_so_far)
    return True


def _run_lock(run_id: int) -> ProductionRun:
    return ProductionRun.objects.select_for_update(of=("self",), no_key=True).select_related("workspace").get(pk=run_id)


def cell_record(cell_id: int) -> RunCell:
    """Record the cell's outcome from its finished job, once (the cell, then the audit event), then end
    the run if that was its last open cell. Call it outside a transaction. (A succeeded cell is usually
    recorded with its job already, by ``_RecordWithJob``; this is the path for every other outcome.)

    The cell's own row lock makes the record happen once; the run's row is locked only to end the run,
    after this commit (``_run_finish_when_done``). Recording every cell under the run's lock made all the
    workers of a run queue on that one row, each holding it while it waited for the audit chain head. Two
    last cells finishing at once still end the run once: the later commit's check sees both outcomes, the
    run's lock and status turn a second attempt into nothing, and the sweeper ends a run whose last
    recorder stopped in between."""
    with transaction.atomic():
        cell = (
            RunCell.objects.select_for_update(of=("self",), no_key=True)
            .select_related("run__workspace", "target_format", "job")
            .get(pk=cell_id)
        )
        if cell.status not in CELL_TERMINAL:
            if cell.job is None or not cell.job.is_terminal:
                return cell
            _cell_outcome_write(cell, cell.job)
    # Also for a cell recorded already (with its job, or by an earlier delivery): its run may be left to end.
    _run_finish_when_done(cell.run_id)
    return cell


def _cell_outcome_write(cell: RunCell, job: GenerationJob) -> None:
    """The cell's outcome from its ended job, and its audit event (the caller holds the cell's lock)."""
    cell.status = JOB_TO_CELL[job.status]
    cell.actual_cost = job.actual_cost if job.actual_cost is not None else Decimal(0)
    cell.error = job.error_message if cell.status != CellStatus.SUCCEEDED else ""
    if job.error_code == "cancelled":
        cell.status = CellStatus.CANCELLED
    cell.finished_at = timezone.now()
    cell.save(update_fields=["status", "actual_cost", "error", "finished_at", "updated_at"])
    events.cell_finished(cell=cell, run=cell.run)


class _RecordWithJob:
    """``job_execute``'s ``on_record`` for a cell: its outcome is written in the job's own record
    transaction (the job's row, then the cell's: the lock order), so a succeeded cell costs no transaction
    and no chain write of its own. ``cell`` is set once that transaction committed (a record retried after
    a lost deadlock may write it twice, but commits it once)."""

    def __init__(self, cell_id: int, run: ProductionRun) -> None:
        self.cell_id, self.run = cell_id, run
        self.cell: RunCell | None = None

    def __call__(self, job: GenerationJob) -> None:
        cell = (
            RunCell.objects.select_for_update(of=("self",), no_key=True)
            .select_related("target_format")
            .get(pk=self.cell_id)
        )
        if cell.status in CELL_TERMINAL or cell.job_id != job.pk:
            return
        self.run.workspace = job.workspace  # the run's workspace is its jobs'
        cell.run, cell.job = self.run, job
        _cell_outcome_write(cell, job)
        transaction.on_commit(lambda: setattr(self, "cell", cell))


def _run_finish_when_done(run_id: int) -> bool:
    """After a cell's outcome committed: end its run if no cell is left open (under the run's lock)."""
    if RunCell.objects.filter(run_id=run_id, status__in=ACTIVE).exists():
        return False
    with transaction.atomic():
        return _run_finish_if_done(_run_lock(run_id))


def cell_execute(*, cell_id: int, provider_factory=get_provider) -> RunCell:
    """Run one cell (the task's body; ``JobRetry`` propagates for the task to retry later). A cell of a
    cancelled run is cancelled without a provider call; a cell whose deployment was removed mid-run fails
    with that reason and nothing charged; a redelivered cell whose job already ran only records it."""
    # One read for every check below: the run's status, its deployment's ``active`` flag and the job's
    # status come from this statement, as fresh as separate queries a moment later would be (the job only
    # by its status: ``job_execute`` reads the job itself, with what calling it needs).
    cell = RunCell.objects.select_related("run__deployment").annotate(job_status=F("job__status")).get(pk=cell_id)
    if cell.status in CELL_TERMINAL:
        return cell
    if cell.job_status in JOB_TERMINAL:  # the job ran; only the cell's outcome is missing
        return cell_record(cell_id)
    run = cell.run
    if run.status != RunStatus.RUNNING:
        return cell_cancel(cell_id)
    if cell.job_id is None:
        return cell
    if not run.deployment.active:
        job_give_up(job_id=cell.job_id, reason=f"its deployment {run.deployment.name} was removed during the run")
        _run_note_error(run.pk, f"The deployment {run.deployment.name} was removed or switched off during the run.")
        return cell_record(cell_id)
    if not _cell_start(cell_id):
        return RunCell.objects.get(pk=cell_id)
    with_job = _RecordWithJob(cell_id, run)
    job = job_execute(job_id=cell.job_id, provider_factory=provider_factory, on_record=with_job)
    if with_job.cell is not None:  # recorded with the job: only the run may be left to end
        _run_finish_when_done(run.pk)
        return with_job.cell
    if not job.is_terminal:  # another delivery holds the job's live lease: it records the cell
        return RunCell.objects.get(pk=cell_id)
    return cell_record(cell_id)


def cell_give_up(*, cell_id: int, reason: str) -> RunCell:
    cell = RunCell.objects.get(pk=cell_id)
    if cell.job_id:
        job_give_up(job_id=cell.job_id, reason=reason)
    return cell_record(cell_id)


@transaction.atomic
def _run_note_error(run_id: int, message: str) -> None:
    run = _run_lock(run_id)
    if run.error:
        return
    run.error = message
    run.save(update_fields=["error"])
    events.run_stopped(run=run, reason=message)


from studio.runs.control import (  # noqa: E402 - cancel and retry, split out for size
    CancelResult,
    cell_cancel,
    run_cancel,
    run_retry_failed,
    run_spec_for,
)
from studio.runs.launching import run_launch  # noqa: E402 - reserve, then prepare in chunks (its own module)

__all__ = [
    "BATCH_QUEUE",
    "CELL_TASK",
    "CancelResult",
    "RunAlreadyCancelled",
    "RunRefused",
    "cell_cancel",
    "cell_execute",
    "cell_give_up",
    "cell_record",
    "run_cancel",
    "run_launch",
    "run_retry_failed",
    "run_spec_for",
]
