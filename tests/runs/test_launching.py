"""Launching a run: the whole reservation at once in the request, the cells' jobs made in chunks by a task
(through the outbox), "preparing N of M" on the way, cancel and a removed deployment mid-preparation."""

from __future__ import annotations

from decimal import Decimal

from studio.core.models import AuditEvent
from studio.core.outbox.models import OutboxMessage
from studio.generation.models import Campaign, GenerationJob, JobStatus
from studio.generation.services.calibration import calibrated_estimate
from studio.generation.services.drafts import prompt_compose
from studio.runs import services
from studio.runs.launching import PREPARE_TASK, run_prepare_chunk
from studio.runs.models import CellStatus, RunStatus
from studio.runs.planning import run_plan
from studio.runs.selectors import run_progress
from studio.runs.services import CELL_TASK
from tests import factories as f


def _campaign(campaign) -> Campaign:
    return Campaign.objects.get(pk=campaign.pk)


def _tasks(name: str) -> list[list]:
    return [m.args for m in OutboxMessage.objects.filter(task_name=name).order_by("pk")]


def test_launch_reserves_the_whole_run_at_once_and_a_task_makes_the_jobs(
    spec, marketer, campaign, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        run = services.run_launch(actor=marketer, spec=spec())
    # The request: the run, its four cells, the whole reservation, one launch event and one task; no job yet.
    assert run.cells.count() == 4
    assert not GenerationJob.objects.exists()
    assert run.preparing
    assert _campaign(campaign).reserved_cost == run.estimated_cost == run.reserved_cost > 0
    assert _tasks(PREPARE_TASK) == [[run.pk, "batch"]]
    assert not _tasks(CELL_TASK)
    assert AuditEvent.objects.filter(action="runs.run.launched").count() == 1
    assert run_progress(run=run).prepared == 0

    assert run_prepare_chunk(run_id=run.pk) is False  # four cells: one chunk
    run.refresh_from_db()
    cells = list(run.cells.select_related("job"))
    assert all(cell.job.status == JobStatus.QUEUED for cell in cells)
    assert {cell.job.target_format_id for cell in cells} == {fmt.pk for fmt in spec().formats}
    assert {cell.job.locale for cell in cells} == {"en", "ja"}
    assert run.estimated_cost == sum(cell.job.reserved_cost for cell in cells)
    assert _campaign(campaign).reserved_cost == run.estimated_cost  # handed to the jobs, not reserved twice
    assert (run.reserved_cost, run.preparing) == (0, False)
    assert sorted(_tasks(CELL_TASK)) == sorted([[cell.pk] for cell in cells])
    assert set(OutboxMessage.objects.filter(task_name=CELL_TASK).values_list("queue", flat=True)) == {"batch"}
    assert AuditEvent.objects.filter(action="studio.job.created").count() == 4
    assert run_progress(run=run).prepared == 4


def test_jobs_match_what_a_single_generation_would_make(spec, marketer):
    run = services.run_launch(actor=marketer, spec=spec(), enqueue=False)
    for cell in run.cells.select_related("job", "target_format"):
        job = cell.job
        assert job.prompt == prompt_compose(version=run.source_version, locale=cell.locale)
        assert (job.target_width, job.target_height) == (cell.target_format.width, cell.target_format.height)
        assert job.params["size"] == job.planned_size == cell.planned_size
        expected = calibrated_estimate(
            deployment=run.deployment,
            quality="low",
            width=job.planned_width,
            height=job.planned_height,
            n=1,
            prompt=job.prompt,
        )
        assert job.estimated_cost == expected.amount == cell.estimated_cost
        event = AuditEvent.objects.get(action="studio.job.created", subject_id=str(job.pk))
        assert event.data["planned"] == job.planned_size
        assert event.data["estimate_basis"] == expected.basis


def test_preparation_goes_in_chunks_each_publishing_its_cells_and_the_next_chunk(
    spec, marketer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        run = services.run_launch(actor=marketer, spec=spec())
    assert run_prepare_chunk(run_id=run.pk, size=3) is True
    assert run.cells.filter(job__isnull=False).count() == 3
    assert len(_tasks(CELL_TASK)) == 3
    assert _tasks(PREPARE_TASK) == [[run.pk, "batch"]] * 2  # the launch's, then the next chunk's
    run.refresh_from_db()
    assert run.preparing
    assert run.reserved_cost == run.cells.get(job__isnull=True).estimated_cost
    assert run_progress(run=run).prepared == 3
    assert run_prepare_chunk(run_id=run.pk, size=3) is False
    assert run_prepare_chunk(run_id=run.pk, size=3) is False  # a redelivered chunk finds nothing to do
    assert GenerationJob.objects.count() == 4
    assert len(_tasks(CELL_TASK)) == 4
    assert AuditEvent.objects.filter(action="studio.job.created").count() == 4


def test_a_chunk_that_gives_nothing_back_leaves_the_campaign_unlocked_for_settling_cells(
    spec, marketer, campaign, django_capture_on_commit_callbacks, monkeypatch
):
    """Every cell of the run settles its cost on the campaign row: a chunk holding that lock for its plans
    made them all wait. Only the chunk that gives money back (here the last one, a rounding rest at most)
    locks it, and the money adds up either way."""
    from studio.runs import launching

    locked: list[int] = []
    real_lock = launching.campaign_lock
    monkeypatch.setattr(launching, "campaign_lock", lambda pk: locked.append(pk) or real_lock(pk))
    with django_capture_on_commit_callbacks(execute=False):
        run = services.run_launch(actor=marketer, spec=spec())
    locked.clear()
    assert run_prepare_chunk(run_id=run.pk, size=3) is True
    assert locked == []  # handed its share to three jobs, gave nothing back
    # The rest (one cell) ends the preparation, giving back a rounding rest if there is one; either way
    # its job is made once and the money adds up.
    assert run_prepare_chunk(run_id=run.pk, size=3) is False
    assert GenerationJob.objects.count() == 4
    assert AuditEvent.objects.filter(action="studio.job.created").count() == 4
    run.refresh_from_db()
    assert (run.reserved_cost, run.preparing) == (0, False)
    assert _campaign(campaign).reserved_cost == sum(job.reserved_cost for job in GenerationJob.objects.all())


def test_a_run_does_not_finish_while_cells_are_still_being_prepared(spec, marketer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        run = services.run_launch(actor=marketer, spec=spec())
    run_prepare_chunk(run_id=run.pk, size=2)
    for cell in run.cells.filter(job__isnull=False):
        services.cell_execute(cell_id=cell.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING  # two cells done, two not yet prepared
    run_prepare_chunk(run_id=run.pk, size=2)
    for cell in run.cells.filter(status=CellStatus.QUEUED):
        services.cell_execute(cell_id=cell.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.FINISHED
    assert AuditEvent.objects.filter(action="runs.run.finished").count() == 1


def test_cancel_mid_preparation_releases_what_no_job_holds_yet(
    spec, marketer, campaign, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        run = services.run_launch(actor=marketer, spec=spec())
    run_prepare_chunk(run_id=run.pk, size=1)
    result = services.run_cancel(actor=marketer, run=run)
    assert result.cancelled == 4
    assert result.released == run.estimated_cost  # one job's reservation and three cells' shares
    assert _campaign(campaign).reserved_cost == 0
    assert run_prepare_chunk(run_id=run.pk) is False  # the chain stops: no job is made after a cancel
    assert GenerationJob.objects.count() == 1
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert (run.reserved_cost, run.preparing) == (0, False)
    event = AuditEvent.objects.get(action="runs.run.cancel_requested")
    assert Decimal(event.data["released"]) == run.estimated_cost


def test_a_deployment_switched_off_mid_preparation_fails_the_rest_without_charging(
    spec, marketer, campaign, offline_deployment, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        run = services.run_launch(actor=marketer, spec=spec())
    run_prepare_chunk(run_id=run.pk, size=2)
    offline_deployment.active = False
    offline_deployment.save(update_fields=["active"])
    assert run_prepare_chunk(run_id=run.pk) is False
    failed = list(run.cells.filter(status=CellStatus.FAILED))
    assert len(failed) == 2
    assert all(offline_deployment.name in cell.error and "Nothing was charged" in cell.error for cell in failed)
    assert all(cell.job_id is None and cell.actual_cost == 0 for cell in failed)
    prepared = GenerationJob.objects.all()
    assert _campaign(campaign).reserved_cost == sum(job.reserved_cost for job in prepared)
    assert AuditEvent.objects.filter(action="runs.cell.finished").count() == 2


def test_plan_estimates_agree_with_the_launch_estimate_on_a_large_grid(spec, campaign):
    formats = [f.CampaignFormatFactory(campaign=campaign, name=f"F{i}", width=1200 + i, height=628) for i in range(3)]
    plan = run_plan(spec(formats=formats))
    for cell in plan.cells:
        expected = calibrated_estimate(
            deployment=plan.spec.deployment,
            quality="low",
            width=cell.plan.width,
            height=cell.plan.height,
            n=1,
            prompt=prompt_compose(version=plan.spec.version, locale=cell.locale),
        )
        assert (cell.estimate, cell.basis) == (expected.amount, expected.basis)


def test_the_cells_queue_is_chosen_at_launch_and_carried_by_the_preparation(
    spec, marketer, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(services, "BATCH_QUEUE", "batch-elsewhere")
    with django_capture_on_commit_callbacks(execute=False):
        run = services.run_launch(actor=marketer, spec=spec())
    monkeypatch.setattr(services, "BATCH_QUEUE", "batch")  # a worker process never saw the launch's setting
    (args,) = _tasks(PREPARE_TASK)
    run_prepare_chunk(run_id=args[0], queue=args[1])
    queues = set(OutboxMessage.objects.filter(task_name=CELL_TASK).values_list("queue", flat=True))
    assert queues == {"batch-elsewhere"}
    assert run.cells.filter(job__isnull=True).count() == 0
