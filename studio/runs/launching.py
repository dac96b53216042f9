"""Launching a production run in two steps, so a 1,000-cell launch answers in a moment.

1. **Reserve** (the request, ``run_launch``): under the campaign lock, plan the grid, refuse it whole with
   the numbers when it does not fit (or keep the prefix that fits), reserve the whole run's estimate on the
   campaign at once, write the run and all its cells in one ``bulk_create``, audit the launch
   (``runs.run.launched``) and record the preparation task in the outbox, in the same transaction.
2. **Prepare** (the task ``runs.run_prepare``, ``run_prepare_chunk``): ``PREPARE_CHUNK`` cells at a time,
   each chunk one short transaction, make the cells' jobs (``bulk_create``), hand each job its share of the
   run's reservation, audit each job (``studio.job.created``, data as a single generation writes it), and
   record the cells' tasks and the next chunk in the outbox. The run page shows "preparing N of M cells".

Every job is made from the planner's cell plan (``studio.runs.planning``), which runs the studio's own
launch checks (deployment, capabilities, size plan, calibrated estimate), plus the prompt-length check and
request parameters of ``studio.generation.services.launch``: the same call a single generation would make.
A cell the checks now refuse (its deployment was switched off mid-preparation) fails with the reason,
nothing charged, its share of the reservation released, and its outcome audited like any other cell.

Lock order (``studio.runs.services``): campaign, run, then the cells by pk, new jobs, the audit head last. A
chunk takes the campaign only when it gives money back (see ``_chunk_prepare``).
Idempotent: a redelivered chunk only picks cells that still have no job, under the run's lock.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import transaction
from django.db.models.signals import post_save
from django.utils import timezone

from studio.core.audit import audit_batch
from studio.core.models import Role
from studio.core.outbox import outbox_enqueue
from studio.core.permissions import require_role
from studio.generation import events as studio_events
from studio.generation.errors import BudgetExceeded
from studio.generation.locks import campaign_lock
from studio.generation.models import Deployment, GenerationJob, Operation
from studio.generation.pricing import Estimate
from studio.generation.screening import prompt_screenings_record
from studio.generation.services.budget import budget_reserve
from studio.generation.services.drafts import prompt_compose
from studio.generation.services.launch import MAX_PROMPT_CHARS, LaunchRequest, _request_params
from studio.lib.providers.routing import route_overrides
from studio.runs import events
from studio.runs.models import CellStatus, ProductionRun, RunCell, RunStatus
from studio.runs.planning import CellPlan, PlanMemo, RunSpec, cell_prompt, run_plan
from studio.runs.planning import _cell_plan as cell_plan_for
from studio.safety.services import screen_prompts
from studio.safety.types import Screening

# Cells per preparation transaction: short enough that a settling worker never waits long on the campaign
# or the audit chain head, long enough that 1,000 cells are twenty commits.
PREPARE_CHUNK = 50
PREPARE_TASK = "runs.run_prepare"
ROUTE = "explicit"

logger = logging.getLogger(__name__)


def _over_budget_words(**kwargs) -> str:
    from studio.runs.services import _over_budget_words as words  # services re-exports run_launch from here

    return words(**kwargs)


def _refused_items(plan, chosen: list[CellPlan]) -> list[dict]:
    return [{"format": c.target_format.name, "locale": c.locale, "reason": c.refusal} for c in plan.refused] + [
        {"format": c.target_format.name, "locale": c.locale, "reason": "Left out: over the budget."}
        for c in plan.planned[len(chosen) :]
    ]


def run_launch(*, actor, spec: RunSpec, only_what_fits: bool = False, enqueue: bool = True) -> ProductionRun:
    """Plan the grid under the campaign lock and reserve every launched cell's estimate at once (the whole
    run, or with ``only_what_fits`` the prefix of cells that fits); refused whole, with the numbers, when it
    does not fit. The cells' jobs are then prepared in chunks by a task; ``enqueue=False`` (the CLI's
    --wait, which runs the cells in its own process) prepares them here and publishes no cell task."""
    workspace = spec.campaign.workspace
    require_role(actor, workspace, Role.MARKETER, action="launch production runs")
    with transaction.atomic():
        campaign = campaign_lock(spec.campaign.pk)
        plan = run_plan(spec, campaign=campaign)
        if plan.problems:
            from studio.runs.services import RunRefused

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
        total = sum((cell.estimate for cell in chosen), Decimal(0))
        budget_reserve(campaign=campaign, amount=total)  # the whole run, once; jobs take their shares later
        refused = _refused_items(plan, chosen)
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
            estimated_cost=total,
            reserved_cost=total,
            preparing=True,
        )
        RunCell.objects.bulk_create(
            [
                RunCell(
                    run=run,
                    target_format=cell.target_format,
                    locale=cell.locale,
                    estimated_cost=cell.estimate,
                    planned_size=cell.generation_size,
                    plan_notes=cell.notes,
                )
                for cell in chosen
            ],
            batch_size=500,
        )
        events.run_launched(
            run=run,
            actor=actor,
            cells=len(chosen),
            formats=list(dict.fromkeys(c.target_format.name for c in chosen)),
            locales=[loc for loc in dict.fromkeys(c.locale for c in chosen) if loc],
            refused=refused,
        )
        if enqueue:
            outbox_enqueue(PREPARE_TASK, [run.pk, _batch_queue()], workspace=workspace)
    if not enqueue:
        while run_prepare_chunk(run_id=run.pk, enqueue=False):
            pass
        run.refresh_from_db()
    return run


def run_spec_for(run: ProductionRun) -> RunSpec:
    """The spec a run was launched with (for preparation and retries), with its current deployment row."""
    return RunSpec(
        campaign=run.campaign,
        deployment=Deployment.objects.select_related("profile").get(pk=run.deployment_id),
        formats=[],
        locales=[],
        n=run.variants_per_cell,
        quality=run.quality or "auto",
        version=run.source_version,
        master=run.master,
    )


def _job_for(*, run: ProductionRun, spec: RunSpec, cell: RunCell, plan: CellPlan) -> GenerationJob:
    """The job ``job_launch`` would make for this cell (a generation from the draft version, or an edit of
    the approved master keeping its composition), holding the share of the run's reservation the cell was
    given at launch. Raises ``ValueError`` with the reason when the prompt is too long."""
    fmt = cell.target_format
    request = LaunchRequest(
        deployment=spec.deployment,
        target_width=fmt.width,
        target_height=fmt.height,
        n=spec.n,
        quality=spec.quality,
        locale=cell.locale,
        target_format=fmt,
    )
    prompt = prompt_compose(version=spec.source_version, locale=cell.locale, instruction=plan.instruction)
    if len(prompt) > MAX_PROMPT_CHARS:
        raise ValueError("The prompt is too long (over 32,000 characters including the brand style).")
    size = plan.plan
    return GenerationJob(
        workspace=run.workspace,
        campaign=run.campaign,
        draft_version=spec.source_version,
        deployment=spec.deployment,
        target_format=fmt,
        operation=Operation.GENERATE if spec.master is None else Operation.LOCALISE,
        created_by=run.created_by,
        prompt=prompt,
        instruction=plan.instruction,
        locale=cell.locale,
        n=spec.n,
        params=_request_params(request, size, route_overrides(spec.deployment, ROUTE)),
        target_width=fmt.width,
        target_height=fmt.height,
        planned_width=size.width,
        planned_height=size.height,
        plan_notes=list(size.notes),
        route=ROUTE,
        base_variant=spec.master,
        estimated_cost=plan.estimate,
        estimate_basis=plan.basis,
        reserved_cost=cell.estimated_cost,  # what the launch reserved for this cell: settled against exactly it
    )


def _cell_fail(*, run: ProductionRun, cell: RunCell, reason: str, now) -> None:
    cell.status = CellStatus.FAILED
    cell.actual_cost = Decimal(0)
    cell.error = f"Not started: {reason} Nothing was charged."
    cell.finished_at = now
    cell.save(update_fields=["status", "actual_cost", "error", "finished_at", "updated_at"])
    events.cell_finished(cell=cell, run=run)


class _CampaignLockNeeded(Exception):
    """A chunk prepared without the campaign's lock found it must give money back: start it again with it."""


def _release(campaign, amount: Decimal) -> None:
    """Give ``amount`` of the run's reservation back to the campaign (already locked by the caller: this
    re-reads the row, since settling jobs in the same transaction may have saved it meanwhile). ``campaign``
    is None in a chunk prepared without the campaign's lock: a release then starts the chunk over with it."""
    if amount > 0:
        if campaign is None:
            raise _CampaignLockNeeded
        locked = campaign_lock(campaign.pk)
        locked.reserved_cost = max(Decimal(0), locked.reserved_cost - amount)
        locked.save(update_fields=["reserved_cost"])


def _batch_queue() -> str:
    from studio.runs import services  # read at call time: the queue the cells' tasks go to

    return services.BATCH_QUEUE


def run_prepare_chunk(
    *, run_id: int, enqueue: bool = True, size: int = PREPARE_CHUNK, queue: str | None = None
) -> bool:
    """Make the jobs of the run's next ``size`` cells without one and publish their tasks (through the
    outbox, on ``queue``, chosen at launch and carried by the task; with the next chunk's task when cells
    remain). Returns True while cells remain unprepared."""
    queue = queue or _batch_queue()

    campaign_id = ProductionRun.objects.filter(pk=run_id).values_list("campaign_id", flat=True).first()
    if campaign_id is None:
        return False
    screenings = _prompts_prescreen(run_id, size)
    try:
        return _chunk_prepare(
            run_id, campaign_id, screenings, lock_campaign=False, enqueue=enqueue, size=size, queue=queue
        )
    except _CampaignLockNeeded:
        return _chunk_prepare(
            run_id, campaign_id, screenings, lock_campaign=True, enqueue=enqueue, size=size, queue=queue
        )


def _chunk_prepare(
    run_id: int, campaign_id: int, screenings: dict, *, lock_campaign: bool, enqueue: bool, size: int, queue: str
) -> bool:
    """One chunk, in one transaction. Most chunks only hand the run's reservation on to their jobs and give
    nothing back to the campaign, so they are prepared without its lock (which every cell of the run takes
    to settle its cost: a chunk holding it for its 50 plans stalled them all); a chunk that must give money
    back (a refused cell, the last chunk's rest, a cancelled run) raises ``_CampaignLockNeeded`` and is
    prepared again, from the start, campaign first (the lock order)."""
    from studio.runs.services import CELL_TASK, _run_finish_if_done, _run_lock

    with transaction.atomic():
        campaign = campaign_lock(campaign_id) if lock_campaign else None
        run = _run_lock(run_id)
        if not run.preparing:
            return False
        if run.status != RunStatus.RUNNING:  # cancelled mid-preparation: the cancel stopped and released it all
            _release(campaign, run.reserved_cost)
            run.reserved_cost, run.preparing = Decimal(0), False
            run.save(update_fields=["reserved_cost", "preparing"])
            _run_finish_if_done(run)
            return False
        cells = list(
            RunCell.objects.select_for_update(of=("self",), no_key=True)
            .select_related("target_format")
            .filter(run=run, job__isnull=True, status=CellStatus.QUEUED)
            .order_by("pk")[: size + 1]
        )
        more = len(cells) > size
        cells = cells[:size]
        # Every event of the chunk (each job made, its prompt's screening, a cell refused) is written under
        # one lock of the audit chain head, the transaction's last, instead of two statements each.
        with audit_batch(run.workspace):
            spec = run_spec_for(run)
            memo = PlanMemo()
            now = timezone.now()
            ready: list[tuple[RunCell, GenerationJob, CellPlan]] = []
            handed = failed = Decimal(0)
            deployment = spec.deployment
            gone = "" if deployment.active else f"its deployment {deployment.name} was removed or switched off."
            for cell in cells:
                plan = cell_plan_for(spec, cell.target_format, cell.locale, memo) if not gone else None
                reason = gone or plan.refusal
                if not reason:
                    try:
                        ready.append((cell, _job_for(run=run, spec=spec, cell=cell, plan=plan), plan))
                        handed += cell.estimated_cost
                        continue
                    except ValueError as exc:
                        reason = str(exc)
                _cell_fail(run=run, cell=cell, reason=reason, now=now)
                failed += cell.estimated_cost
            jobs = GenerationJob.objects.bulk_create([job for _cell, job, _plan in ready])
            if jobs:  # what Job.save() tells the costs app (its budget alert), once for the chunk's campaign
                post_save.send(sender=GenerationJob, instance=jobs[0], created=True, update_fields=None, raw=False)
            for cell, job, plan in ready:
                cell.job = job
                cell.planned_size = job.planned_size
                cell.plan_notes = job.plan_notes
                cell.queued_at = now
                cell.updated_at = now
                estimate = Estimate(amount=plan.estimate, basis=plan.basis, per_image=plan.per_image)
                studio_events.job_created(job=job, actor=run.created_by, estimate=estimate, references=[])
            # The chunk's prompts were screened before the locks (one screening per distinct prompt, which may
            # be a call to a hosted screener): recorded on each job here, so its cell need not screen it again.
            prompt_screenings_record(workspace=run.workspace, jobs=jobs, screenings=screenings)
            RunCell.objects.bulk_update(
                [cell for cell, _job, _plan in ready], ["job", "planned_size", "plan_notes", "queued_at", "updated_at"]
            )
            _release(campaign, failed)
            run.reserved_cost = max(Decimal(0), run.reserved_cost - handed - failed)
            if not more:
                _release(campaign, run.reserved_cost)  # nothing left to hand out (a rounding rest, if any)
                run.reserved_cost, run.preparing = Decimal(0), False
            run.save(update_fields=["reserved_cost", "preparing"])
            if enqueue:
                for cell, _job, _plan in ready:
                    outbox_enqueue(CELL_TASK, [cell.pk], queue=queue, workspace=run.workspace)
                if more:
                    outbox_enqueue(PREPARE_TASK, [run.pk, queue], workspace=run.workspace)
            if not more:
                _run_finish_if_done(run)  # every cell may have failed its checks
    return more


def _prompts_prescreen(run_id: int, size: int) -> dict[str, Screening]:
    """Screen the distinct prompts of the next chunk's cells, outside any transaction (read unlocked: a cell
    the chunk then does not take is screened again when it runs, one that it takes unscreened screens
    itself). A screener that fails here only means the cells screen themselves, as single jobs do."""
    related = ("workspace", "campaign", "source_version__draft__workspace", "master")
    run = ProductionRun.objects.select_related(*related).get(pk=run_id)
    cells = (
        RunCell.objects.filter(run_id=run_id, job__isnull=True, status=CellStatus.QUEUED)
        .order_by("pk")
        .values_list("target_format__width", "target_format__height", "locale")[:size]
    )
    spec = run_spec_for(run)
    prompts = (cell_prompt(spec, w, h, locale) for w, h, locale in set(cells))
    texts = list(dict.fromkeys(t for t in prompts if t and len(t) <= MAX_PROMPT_CHARS))  # one per distinct prompt
    try:
        return screen_prompts(workspace=run.workspace, texts=texts)
    except Exception:  # noqa: BLE001 - e.g. a broken safety policy: each cell's own check reports it
        logger.warning("pre-screening the prompts of run %s failed; its cells screen their own", run_id, exc_info=True)
        return {}


def run_preparation_release(*, campaign, run: ProductionRun) -> Decimal:
    """Cancelling: release the part of the run's reservation no job holds yet (the caller holds the
    campaign and the run, in that order) and stop preparing."""
    released = run.reserved_cost
    _release(campaign, released)
    run.reserved_cost, run.preparing = Decimal(0), False
    run.save(update_fields=["reserved_cost", "preparing"])
    return released
