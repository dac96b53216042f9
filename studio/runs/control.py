"""Stopping and repeating a production run: cancel (no new provider calls, in-flight cells finish, every
unspent reservation released at once) and retry of failed cells. Same lock order as ``services``:
campaign, run, jobs, cells, audit head last."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from studio.core.models import Role
from studio.core.permissions import require_role
from studio.generation import events as studio_events
from studio.generation.errors import BudgetExceeded
from studio.generation.locks import campaign_lock
from studio.generation.models import GenerationJob, JobStatus
from studio.generation.services.failures import job_finish_without_images
from studio.runs import events
from studio.runs.launching import run_preparation_release, run_spec_for
from studio.runs.models import CELL_TERMINAL, CellStatus, ProductionRun, RunCell, RunStatus
from studio.runs.planning import _cell_plan as cell_plan_for
from studio.runs.services import (
    ACTIVE,
    STOPPABLE_JOB_STATUSES,
    RunAlreadyCancelled,
    RunRefused,
    _cell_job,
    _cells_enqueue,
    _over_budget_words,
    _run_finish_if_done,
    _run_lock,
)


def _stop_cells(run: ProductionRun, cells: list[RunCell], *, message: str) -> Decimal:
    """Close not-yet-called jobs of ``cells`` (nothing charged, reservation released) and cancel those cells.
    The caller holds the campaign and the run; jobs are locked here in primary-key order, then the cells."""
    job_ids = sorted(cell.job_id for cell in cells if cell.job_id)
    jobs = {
        job.pk: job
        for job in GenerationJob.objects.select_for_update(of=("self",), no_key=True)
        .select_related("workspace")
        .filter(pk__in=job_ids)
        .order_by("pk")
    }
    released = Decimal(0)
    stopped = []
    for cell in cells:
        job = jobs.get(cell.job_id)
        if job is not None and job.status not in STOPPABLE_JOB_STATUSES:
            continue  # in flight (or already ended): it finishes and records its own outcome
        if job is not None:
            released += job.reserved_cost
            job_finish_without_images(
                job,
                status=JobStatus.FAILED,
                code="cancelled",
                message=message,
                record=studio_events.job_failed,
                data={"run": run.pk},
            )
        stopped.append(cell.pk)
    now = timezone.now()
    for cell in (
        RunCell.objects.select_for_update(of=("self",), no_key=True)
        .select_related("target_format")
        .filter(pk__in=stopped)
    ).order_by("pk"):
        if cell.status in CELL_TERMINAL:
            continue
        cell.status = CellStatus.CANCELLED
        cell.actual_cost = Decimal(0)
        cell.error = message
        cell.finished_at = now
        cell.save(update_fields=["status", "actual_cost", "error", "finished_at", "updated_at"])
        events.cell_finished(cell=cell, run=run)
    return released


def cell_cancel(cell_id: int) -> RunCell:
    """A cell delivered after its run was cancelled: stop it without a provider call."""
    with transaction.atomic():
        cell = RunCell.objects.select_related("run").get(pk=cell_id)
        campaign_lock(cell.run.campaign_id)
        run = _run_lock(cell.run_id)
        cell = RunCell.objects.get(pk=cell_id)
        if cell.status not in CELL_TERMINAL:
            _stop_cells(run, [cell], message="Cancelled with its production run; nothing was charged.")
        _run_finish_if_done(run)
    return RunCell.objects.get(pk=cell_id)


@dataclass(frozen=True)
class CancelResult:
    run: ProductionRun
    cancelled: int
    in_flight: int
    released: Decimal


def run_cancel(*, actor, run: ProductionRun) -> CancelResult:
    """Stop the run: no new provider calls, cells in flight finish, every unspent reservation is released
    now. A second cancel (or one racing this) is told the run is already cancelled; a finished run is not
    cancelled at all."""
    require_role(actor, run.workspace, Role.MARKETER, action="cancel production runs")
    with transaction.atomic():
        campaign = campaign_lock(run.campaign_id)
        run = _run_lock(run.pk)
        if run.status in (RunStatus.CANCELLING, RunStatus.CANCELLED):
            who = run.cancelled_by.get_username() if run.cancelled_by_id else "someone"
            raise RunAlreadyCancelled(f"This run was already cancelled (by {who}); there is nothing more to stop.")
        if run.status == RunStatus.FINISHED:
            raise RunRefused("This run has already finished: there is nothing left to cancel.")
        open_cells = list(RunCell.objects.filter(run=run, status__in=ACTIVE).order_by("pk"))
        name = actor.get_username() if actor else "the system"
        released = _stop_cells(run, open_cells, message=f"Cancelled by {name} before it started; nothing was charged.")
        # Cells still being prepared have no job yet: their share of the run's reservation is released here.
        released += run_preparation_release(campaign=campaign, run=run)
        cancelled = RunCell.objects.filter(pk__in=[c.pk for c in open_cells], status=CellStatus.CANCELLED).count()
        in_flight = len(open_cells) - cancelled
        run.status = RunStatus.CANCELLING
        run.cancelled_by = actor
        run.save(update_fields=["status", "cancelled_by"])
        events.run_cancel_requested(run=run, actor=actor, cancelled=cancelled, released=released, in_flight=in_flight)
        _run_finish_if_done(run)
    return CancelResult(run=run, cancelled=cancelled, in_flight=in_flight, released=released)


def run_retry_failed(*, actor, run: ProductionRun) -> list[RunCell]:
    """Make a new job for every failed cell (the old job stays for the record) and queue them again,
    reserving their estimates under the campaign lock: refused whole when they do not fit."""
    require_role(actor, run.workspace, Role.MARKETER, action="retry production runs")
    with transaction.atomic():
        campaign = campaign_lock(run.campaign_id)
        run = _run_lock(run.pk)
        if run.status in (RunStatus.CANCELLING, RunStatus.CANCELLED):
            raise RunRefused("This run was cancelled; start a new run instead of retrying it.")
        failed = list(
            RunCell.objects.select_for_update(of=("self",), no_key=True)
            .select_related("target_format")
            .filter(run=run, status=CellStatus.FAILED)
            .order_by("pk")
        )
        if not failed:
            raise RunRefused("No failed cells to retry.")
        spec = run_spec_for(run)
        if not spec.deployment.active:
            raise RunRefused(f"The deployment {spec.deployment.name} is no longer active; start a new run.")
        plans = [cell_plan_for(spec, cell.target_format, cell.locale) for cell in failed]
        if refused := [p for p in plans if not p.ok]:
            raise RunRefused(f"{refused[0].target_format.name} · {refused[0].locale}: {refused[0].refusal}")
        total = sum((p.estimate for p in plans), Decimal(0))
        if total > campaign.remaining:
            raise BudgetExceeded(
                _over_budget_words(
                    campaign=campaign, total=total, cells=len(plans), fitting=0, fitting_total=Decimal(0)
                )
            )
        now = timezone.now()
        for cell, plan in zip(failed, plans, strict=True):
            job = _cell_job(actor=actor, spec=spec, plan=plan)
            cell.job = job
            cell.status = CellStatus.QUEUED
            cell.estimated_cost = job.estimated_cost
            cell.actual_cost = None
            cell.error = ""
            cell.queued_at = now
            cell.started_at = None
            cell.finished_at = None
            cell.save()
        run.estimated_cost += sum((cell.estimated_cost for cell in failed), Decimal(0))
        run.status = RunStatus.RUNNING
        run.finished_at = None
        run.save(update_fields=["estimated_cost", "status", "finished_at"])
        events.run_cells_retried(run=run, actor=actor, cell_ids=[c.pk for c in failed], estimate=total)
        _cells_enqueue(run, failed)
    return failed
