"""Production runs: launch (reserve the whole run under the campaign lock), run one cell, cancel, retry.

Lock order (``studio.generation.locks``, extended for runs): the **campaign** row, then the **run** row,
then **jobs** by primary key, then the run's **cells**, the audit chain head last. A cell's outcome is
recorded under the run's row lock (run, cell, audit), so the last two cells finishing at once still
finish the run exactly once; cancelling and retrying hold the campaign first, so two cancels serialise
and the second is told the run is already cancelled.

Every cell's job is made by the studio's own ``job_launch(..., enqueue=False)`` (same checks, size plan,
estimate and reservation as a single generation) and run by ``job_execute``; the cell's task goes to the
"batch" queue through the outbox, so interactive generations on the default queue never wait behind a
large run. Idempotent: a redelivered cell whose job already ran records its outcome once.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from studio.core.models import Role
from studio.core.outbox import outbox_enqueue
from studio.core.permissions import require_role
from studio.core.templatetags.ui import money
from studio.generation.errors import BudgetExceeded, StudioError
from studio.generation.locks import campaign_lock
from studio.generation.models import Deployment, GenerationJob, JobStatus, Operation
from studio.generation.services.execution import job_execute
from studio.generation.services.failures import job_give_up
from studio.generation.services.launch import LaunchRequest, job_launch
from studio.lib.providers import get_provider
from studio.runs import events
from studio.runs.models import CELL_TERMINAL, CellStatus, ProductionRun, RunCell, RunStatus
from studio.runs.planning import CellPlan, RunSpec, run_plan

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


def run_launch(*, actor, spec: RunSpec, only_what_fits: bool = False, enqueue: bool = True) -> ProductionRun:
    """Plan the grid under the campaign lock, reserve every launched cell's estimate (the whole run, or
    with ``only_what_fits`` the prefix of cells that fits) and create the cells' jobs, in one transaction.
    Refused whole, with the numbers, when it does not fit. ``enqueue=False``: the CLI's --wait runs the
    cells in its own process."""
    workspace = spec.campaign.workspace
    require_role(actor, workspace, Role.MARKETER, action="launch production runs")
    with transaction.atomic():
        campaign = campaign_lock(spec.campaign.pk)
        plan = run_plan(spec, campaign=campaign)
        if plan.problems:
            raise RunRefused(" ".join(plan.problems))
        chosen = plan.planned
        if not plan.fits:
            fitting = plan.fitting_prefix
            if not only_what_fits or not fitting:
                raise BudgetExceeded(
                    _over_budget_words(
                        campaign=campaign,
                        total=plan.total,
                        cells=len(chosen),
                        fitting=len(fitting),
                        fitting_total=plan.fitting_total,
                    )
                )
            chosen = fitting
        refused = [{"format": c.target_format.name, "locale": c.locale, "reason": c.refusal} for c in plan.refused] + [
            {"format": c.target_format.name, "locale": c.locale, "reason": "Left out: over the budget."}
            for c in plan.planned[len(chosen) :]
        ]
        run = ProductionRun.objects.create(
            workspace=workspace,
            campaign=campaign,
            source_version=spec.version if spec.master is None else None,
            master=spec.master,
            deployment=spec.deployment,
            variants_per_cell=spec.n,
            quality=spec.quality,
            created_by=actor,
            refused=refused,
        )
        now = timezone.now()
        cells = []
        for cell_plan in chosen:
            job = _cell_job(actor=actor, spec=spec, plan=cell_plan)
            cells.append(
                RunCell(
                    run=run,
                    target_format=cell_plan.target_format,
                    locale=cell_plan.locale,
                    job=job,
                    estimated_cost=job.estimated_cost,
                    planned_size=job.planned_size,
                    plan_notes=job.plan_notes,
                    queued_at=now,
                )
            )
        RunCell.objects.bulk_create(cells)
        run.estimated_cost = sum((cell.estimated_cost for cell in cells), Decimal(0))
        run.save(update_fields=["estimated_cost"])
        events.run_launched(
            run=run,
            actor=actor,
            cells=len(cells),
            formats=list(dict.fromkeys(c.target_format.name for c in chosen)),
            locales=[loc for loc in dict.fromkeys(c.locale for c in chosen) if loc],
            refused=refused,
        )
        if enqueue:
            _cells_enqueue(run, cells)
    return run


# --- one cell -------------------------------------------------------------------------------------------


@transaction.atomic
def _cell_start(cell_id: int) -> RunCell | None:
    cell = RunCell.objects.select_for_update(of=("self",)).get(pk=cell_id)
    if cell.status in CELL_TERMINAL:
        return None
    now = timezone.now()
    cell.status = CellStatus.RUNNING
    cell.attempts += 1
    cell.started_at = cell.started_at or now
    cell.save(update_fields=["status", "attempts", "started_at", "updated_at"])
    return cell


def _run_finish_if_done(run: ProductionRun) -> bool:
    """Under the run's lock: a run with no queued or running cell ends (finished, or cancelled)."""
    if run.status not in (RunStatus.RUNNING, RunStatus.CANCELLING):
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
    return ProductionRun.objects.select_for_update(of=("self",)).select_related("workspace").get(pk=run_id)


def cell_record(cell_id: int) -> RunCell:
    """Record the cell's outcome from its finished job, once (run, then cell, then the audit event)."""
    with transaction.atomic():
        run_id = RunCell.objects.values_list("run_id", flat=True).get(pk=cell_id)
        run = _run_lock(run_id)
        cell = RunCell.objects.select_for_update(of=("self",)).select_related("target_format", "job").get(pk=cell_id)
        if cell.status in CELL_TERMINAL or cell.job is None or not cell.job.is_terminal:
            return cell
        job = cell.job
        cell.status = JOB_TO_CELL[job.status]
        cell.actual_cost = job.actual_cost if job.actual_cost is not None else Decimal(0)
        cell.error = job.error_message if cell.status != CellStatus.SUCCEEDED else ""
        if job.error_code == "cancelled":
            cell.status = CellStatus.CANCELLED
        cell.finished_at = timezone.now()
        cell.save(update_fields=["status", "actual_cost", "error", "finished_at", "updated_at"])
        events.cell_finished(cell=cell, run=run)
        _run_finish_if_done(run)
    return cell


def _deployment_usable(run: ProductionRun) -> bool:
    return Deployment.objects.filter(pk=run.deployment_id, active=True).exists()


def cell_execute(*, cell_id: int, provider_factory=get_provider) -> RunCell:
    """Run one cell (the task's body; ``JobRetry`` propagates for the task to retry later). A cell of a
    cancelled run is cancelled without a provider call; a cell whose deployment was removed mid-run fails
    with that reason and nothing charged; a redelivered cell whose job already ran only records it."""
    cell = RunCell.objects.select_related("run__deployment", "job").get(pk=cell_id)
    if cell.status in CELL_TERMINAL:
        return cell
    if cell.job is not None and cell.job.is_terminal:  # the job ran; only the cell's outcome is missing
        return cell_record(cell_id)
    run = cell.run
    if run.status != RunStatus.RUNNING:
        return cell_cancel(cell_id)
    if cell.job_id is None:
        return cell
    if not _deployment_usable(run):
        job_give_up(job_id=cell.job_id, reason=f"its deployment {run.deployment.name} was removed during the run")
        _run_note_error(run.pk, f"The deployment {run.deployment.name} was removed or switched off during the run.")
        return cell_record(cell_id)
    if _cell_start(cell_id) is None:
        return RunCell.objects.get(pk=cell_id)
    job = job_execute(job_id=cell.job_id, provider_factory=provider_factory)
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
