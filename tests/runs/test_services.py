"""Production runs: planning, the whole-run reservation, cells, cancel and retry (unit, SQLite)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from studio.core.models import AuditEvent
from studio.generation.errors import BudgetExceeded
from studio.generation.models import Campaign, GenerationJob, JobStatus, Variant
from studio.lib.providers import ErrorKind, ProviderError
from studio.runs import services
from studio.runs.models import CellStatus, ProductionRun, RunCell, RunStatus
from studio.runs.planning import run_plan
from studio.runs.sweeper import runs_sweep
from tests import factories as f


def _campaign(campaign) -> Campaign:
    return Campaign.objects.get(pk=campaign.pk)


def test_plan_shows_every_cell_with_size_notes_and_estimate(spec, campaign):
    plan = run_plan(spec())
    assert not plan.problems
    assert len(plan.cells) == 4
    assert all(cell.ok for cell in plan.cells)
    linkedin = next(c for c in plan.cells if c.target_format.name == "LinkedIn ad")
    assert linkedin.generation_size  # the planner's size for 1200x628
    assert linkedin.notes  # 1200x628 is not a size the model makes directly: the plan says how
    assert plan.total == sum(c.estimate for c in plan.cells) > 0
    assert plan.remaining == campaign.remaining
    assert plan.fits


def test_plan_refuses_a_locale_without_copy_and_a_format_outside_the_size_rules(spec, campaign, formats):
    banner = f.CampaignFormatFactory(campaign=campaign, name="Skyscraper", width=160, height=1200)
    campaign.locales = ["en", "ja", "de"]
    campaign.save()
    plan = run_plan(spec(formats=[*formats, banner], locales=["en", "de"]))
    refused = {(c.target_format.name, c.locale): c.refusal for c in plan.refused}
    assert "no in-image copy for de" in refused[("LinkedIn ad", "de")]
    assert "tolerance" in refused[("Skyscraper", "en")]
    assert plan.total == sum(c.estimate for c in plan.planned)
    assert len(plan.planned) == 2


def test_empty_grid_is_refused_with_a_message(spec, marketer):
    plan = run_plan(spec(formats=[]))
    assert any("grid is empty" in p for p in plan.problems)
    with pytest.raises(services.RunRefused, match="grid is empty"):
        services.run_launch(actor=marketer, spec=spec(formats=[]))
    assert not ProductionRun.objects.exists()


def test_plan_says_when_the_run_crosses_the_budget_alert(spec, campaign):
    plan = run_plan(spec())
    Campaign.objects.filter(pk=campaign.pk).update(
        budget=plan.total * 2, spent_cost=plan.total * Decimal("0.9"), budget_alert_percent=80
    )
    campaign.refresh_from_db()
    plan = run_plan(spec(campaign=campaign))
    assert plan.crosses_alert
    assert plan.fits


def test_launch_over_budget_is_refused_whole_with_the_numbers(spec, marketer, campaign):
    total = run_plan(spec()).total
    Campaign.objects.filter(pk=campaign.pk).update(budget=total - Decimal("0.000001"))
    with pytest.raises(BudgetExceeded) as exc:
        services.run_launch(actor=marketer, spec=spec())
    assert "$" in exc.value.message
    assert "4 cells" in exc.value.message
    assert "Launch only what fits" in exc.value.message or "launch only what fits" in exc.value.message.lower()
    assert not ProductionRun.objects.exists()
    assert not GenerationJob.objects.exists()
    assert _campaign(campaign).reserved_cost == 0


def test_launch_only_what_fits_launches_a_prefix_that_fits(spec, marketer, campaign):
    plan = run_plan(spec())
    two = sum(c.estimate for c in plan.cells[:2])
    Campaign.objects.filter(pk=campaign.pk).update(budget=two + Decimal("0.000001"))
    run = services.run_launch(actor=marketer, spec=spec(), only_what_fits=True)
    assert run.cells.count() == 2
    assert len(run.refused) == 2
    assert all("budget" in item["reason"] for item in run.refused)
    assert _campaign(campaign).reserved_cost == run.estimated_cost <= _campaign(campaign).budget


def _run_all(run, **kwargs):
    for cell_id in run.cells.order_by("pk").values_list("pk", flat=True):
        services.cell_execute(cell_id=cell_id, **kwargs)


def test_cells_run_and_the_run_finishes_with_its_cost_settled(spec, marketer, campaign):
    run = services.run_launch(actor=marketer, spec=spec(), enqueue=False)
    _run_all(run)
    run.refresh_from_db()
    assert run.status == RunStatus.FINISHED
    cells = list(run.cells.select_related("job", "target_format"))
    assert all(cell.status == CellStatus.SUCCEEDED for cell in cells)
    for cell in cells:
        variant = Variant.objects.get(job=cell.job)
        assert (cell.job.planned_width, cell.job.planned_height) == (variant.width, variant.height)
    actual = sum(cell.actual_cost for cell in cells)
    assert _campaign(campaign).spent_cost == actual > 0
    assert _campaign(campaign).reserved_cost == 0
    assert AuditEvent.objects.filter(action="runs.cell.finished").count() == 4
    assert AuditEvent.objects.filter(action="runs.run.finished").count() == 1


def test_a_redelivered_cell_completes_once(spec, marketer, campaign):
    run = services.run_launch(actor=marketer, spec=spec(formats=spec().formats[:1], locales=["en"]), enqueue=False)
    cell = run.cells.get()
    services.cell_execute(cell_id=cell.pk)
    spent = _campaign(campaign).spent_cost
    # A redelivery after the cell ended, and one where the job ran but the cell was never recorded.
    services.cell_execute(cell_id=cell.pk)
    RunCell.objects.filter(pk=cell.pk).update(status=CellStatus.RUNNING)
    services.cell_execute(cell_id=cell.pk)
    assert Variant.objects.filter(job=cell.job).count() == 1
    assert _campaign(campaign).spent_cost == spent
    assert AuditEvent.objects.filter(action="runs.cell.finished").count() == 2  # first, and the repair
    assert AuditEvent.objects.filter(action="runs.run.finished").count() == 1


class BrokenProvider:
    label = "broken"

    def generate(self, request):
        raise ProviderError("The image service refused the request.", kind=ErrorKind.FATAL, status_code=400)

    edit = generate


def test_failed_cells_are_retried_with_new_jobs(spec, marketer, campaign):
    run = services.run_launch(actor=marketer, spec=spec(locales=["en"]), enqueue=False)
    _run_all(run, provider_factory=lambda deployment, **kw: BrokenProvider())
    run.refresh_from_db()
    assert run.status == RunStatus.FINISHED
    assert set(run.cells.values_list("status", flat=True)) == {CellStatus.FAILED}
    assert _campaign(campaign).reserved_cost == 0
    old_jobs = set(run.cells.values_list("job_id", flat=True))
    retried = services.run_retry_failed(actor=marketer, run=run)
    assert len(retried) == 2
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING
    assert not old_jobs & set(run.cells.values_list("job_id", flat=True))
    _run_all(run)
    run.refresh_from_db()
    assert run.status == RunStatus.FINISHED
    assert set(run.cells.values_list("status", flat=True)) == {CellStatus.SUCCEEDED}
    with pytest.raises(services.RunRefused, match="No failed cells"):
        services.run_retry_failed(actor=marketer, run=run)


def test_cancel_releases_unspent_reservations_and_in_flight_cells_finish(spec, marketer, campaign):
    run = services.run_launch(actor=marketer, spec=spec(), enqueue=False)
    cells = list(run.cells.order_by("pk"))
    services.cell_execute(cell_id=cells[0].pk)  # done before the cancel
    # One cell is in a provider call when the cancel comes.
    GenerationJob.objects.filter(pk=cells[1].job_id).update(status=JobStatus.RUNNING)
    RunCell.objects.filter(pk=cells[1].pk).update(status=CellStatus.RUNNING)
    in_flight_reserve = GenerationJob.objects.get(pk=cells[1].job_id).reserved_cost
    result = services.run_cancel(actor=marketer, run=run)
    assert result.cancelled == 2
    assert result.in_flight == 1
    assert result.released == cells[2].estimated_cost + cells[3].estimated_cost
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLING
    assert _campaign(campaign).reserved_cost == in_flight_reserve
    # A cancelled cell delivered anyway makes no provider call.
    assert services.cell_execute(cell_id=cells[2].pk).status == CellStatus.CANCELLED
    assert not Variant.objects.filter(job_id=cells[2].job_id).exists()
    # A second cancel is told; the in-flight cell's job ends and the run closes as cancelled.
    with pytest.raises(services.RunAlreadyCancelled, match="already cancelled"):
        services.run_cancel(actor=marketer, run=run)
    GenerationJob.objects.filter(pk=cells[1].job_id).update(status=JobStatus.FAILED, reserved_cost=0)
    Campaign.objects.filter(pk=campaign.pk).update(reserved_cost=0)
    services.cell_record(cells[1].pk)
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert AuditEvent.objects.filter(action="runs.run.cancel_requested").count() == 1


def test_cancelling_a_finished_run_is_refused(spec, marketer):
    run = services.run_launch(actor=marketer, spec=spec(locales=["en"]), enqueue=False)
    _run_all(run)
    with pytest.raises(services.RunRefused, match="already finished"):
        services.run_cancel(actor=marketer, run=run)


def test_a_deployment_removed_mid_run_fails_its_cells_without_charging(spec, marketer, campaign, offline_deployment):
    run = services.run_launch(actor=marketer, spec=spec(), enqueue=False)
    cells = list(run.cells.order_by("pk"))
    services.cell_execute(cell_id=cells[0].pk)
    spent = _campaign(campaign).spent_cost
    type(offline_deployment).objects.filter(pk=offline_deployment.pk).update(active=False)
    for cell in cells[1:]:
        assert services.cell_execute(cell_id=cell.pk).status == CellStatus.FAILED
    run.refresh_from_db()
    assert run.status == RunStatus.FINISHED
    assert "removed" in run.error
    assert _campaign(campaign).spent_cost == spent
    assert _campaign(campaign).reserved_cost == 0
    assert "removed" in RunCell.objects.get(pk=cells[1].pk).error


def test_a_master_source_derives_each_format_as_an_edit_of_the_master(spec, marketer, campaign, run_draft):
    base = services_launch_one(marketer, run_draft, spec().deployment)
    master = Variant.objects.get(job=base)
    Variant.objects.filter(pk=master.pk).update(status="approved")
    master.refresh_from_db()
    run = services.run_launch(actor=marketer, spec=spec(version=None, master=master), enqueue=False)
    jobs = [cell.job for cell in run.cells.select_related("job")]
    assert all(job.base_variant_id == master.pk and job.operation == "localise" for job in jobs)
    assert all("Recompose" in job.instruction for job in jobs)
    assert {(job.target_width, job.target_height) for job in jobs} == {(1200, 628), (1080, 1080)}
    ja = next(job for job in jobs if job.locale == "ja")
    assert "春のセール" in ja.prompt


def services_launch_one(marketer, draft, deployment):
    from studio.generation import services as studio_services

    job = studio_services.job_launch(
        actor=marketer,
        version=draft.versions.get(),
        request=studio_services.LaunchRequest(deployment=deployment, target_width=1024, target_height=1024),
        enqueue=False,
    )
    return studio_services.job_execute(job_id=job.pk)


def test_the_sweeper_records_a_cell_whose_worker_died_after_its_job_ended(spec, marketer):
    from datetime import timedelta

    from django.utils import timezone

    run = services.run_launch(actor=marketer, spec=spec(formats=spec().formats[:1], locales=["en"]), enqueue=False)
    cell = run.cells.get()
    from studio.generation.services.execution import job_execute

    job_execute(job_id=cell.job_id)
    RunCell.objects.filter(pk=cell.pk).update(status=CellStatus.RUNNING, updated_at=timezone.now() - timedelta(hours=1))
    report = runs_sweep()
    assert report.recorded == [cell.pk]
    run.refresh_from_db()
    assert run.status == RunStatus.FINISHED


def test_only_marketers_launch(spec, reviewer):
    from studio.core.errors import Forbidden

    with pytest.raises(Forbidden):
        services.run_launch(actor=reviewer, spec=spec())
