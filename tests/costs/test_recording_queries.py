"""What recording a settled job costs in queries: the settle hook uses the job instance the settle saved
and the campaign row it locked, so after the commit it reads one row (the job's outcome and number of
images) and writes the cost row and the two rollup upserts. The catch-up, and an instance that is not the
committed row, read the job again; the numbers are the same either way."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals.costs.models import CostBreakdownDay, CostHistogramDay, JobCost
from approvals.costs.services import job_cost_record
from approvals.costs.services.alerts import BudgetUse, budget_alert_check
from studio.core.models import Notification
from studio.generation.locks import campaign_lock, job_lock
from studio.generation.models import Campaign, GenerationJob, JobStatus, Operation, Variant, VariantStatus
from studio.generation.pricing import price_for
from studio.generation.services.budget import budget_settle
from studio.lib.providers.base import Usage

D = Decimal
SETTLE_RELATED = ("deployment__profile", "draft_version")  # what the worker's job carries into the record


def _running_job(ledger, *, spend: Decimal, n: int) -> int:
    """A job launched and generating (its own committed transaction, as a launch is), with ``n`` images."""
    version = ledger.version()
    with ledger.hooks(execute=True), transaction.atomic():
        job = GenerationJob.objects.create(
            workspace=ledger.workspace,
            campaign=ledger.campaign,
            draft_version=version,
            deployment=ledger.deployment,
            operation=Operation.GENERATE,
            created_by=ledger.user,
            prompt="A bowl of lemons",
            n=n,
            params={"quality": "medium"},
            target_width=1024,
            target_height=1024,
            planned_width=1024,
            planned_height=1024,
            status=JobStatus.RUNNING,
            estimated_cost=spend,
            reserved_cost=spend,
            started_at=timezone.now() - dt.timedelta(seconds=3),
        )
        campaign = campaign_lock(ledger.campaign.pk)
        campaign.reserved_cost += spend
        campaign.save(update_fields=["reserved_cost"])
        for index in range(n):
            Variant.objects.create(
                workspace=ledger.workspace,
                job=job,
                draft=version.draft,
                index=index,
                operation=Operation.GENERATE,
                created_by=ledger.user,
                width=1024,
                height=1024,
                sha256=hashlib.sha256(f"{job.pk}-{index}".encode()).hexdigest(),
                format="png",
                status=VariantStatus.READY,
            )
    return job.pk


def _settle(ledger, job_id: int, *, spend: Decimal, related=SETTLE_RELATED, after_save=None):
    """Settle and save the job as the worker does; returns it and the after-commit hooks, not yet run."""
    with ledger.hooks(execute=False) as hooks, transaction.atomic():
        campaign_lock(ledger.campaign.pk)
        job = job_lock(job_id, related=related)
        budget_settle(job=job, actual=spend)
        job.status = JobStatus.SUCCEEDED
        job.actual_cost = spend
        job.usage = Usage(input_text_tokens=400, output_image_tokens=2000).as_dict()
        job.latency_ms = 1500
        job.finished_at = timezone.now()
        job.save()
        if after_save is not None:
            after_save(job)
    return job, list(hooks)


def _run(hooks) -> list[str]:
    """Run the after-commit hooks; the statements they sent (savepoints left out)."""
    with CaptureQueriesContext(connection) as ctx:
        for hook in hooks:
            hook()
    return [q["sql"] for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]]


def _table(sql: str) -> str:
    words = sql.replace('"', "").split()
    return words[words.index("FROM" if words[0] == "SELECT" else "INTO") + 1]


@pytest.fixture
def warm_price(ledger):
    """The price of the ledger's model, as every worker holds it after its first cell."""
    price_for(model_name=ledger.deployment.profile.name, provider=ledger.deployment.provider)


def test_the_settle_hook_reads_one_row_then_writes_the_fact_and_two_upserts(ledger, warm_price):
    job_id = _running_job(ledger, spend=D("0.12"), n=2)
    _, hooks = _settle(ledger, job_id, spend=D("0.12"))
    statements = _run(hooks)
    # Before: the job with its deployment, profile and version; its variants counted; the campaign for
    # the budget alert; then the three writes (7 statements).
    assert [(s.split()[0], _table(s)) for s in statements] == [
        ("SELECT", "studio_generationjob"),
        ("INSERT", "costs_jobcost"),
        ("INSERT", "costs_costbreakdownday"),
        ("INSERT", "costs_costhistogramday"),
    ]
    fact = JobCost.objects.get(pk=job_id)
    assert (fact.spend, fact.images, fact.model, fact.latency_ms) == (D("0.12"), 2, "gpt-image-2", 1500)
    assert fact.draft_id == GenerationJob.objects.get(pk=job_id).draft_version.draft_id
    assert fact.price_table_id is not None


def test_an_instance_without_its_related_rows_still_costs_one_read(ledger, warm_price):
    job_id = _running_job(ledger, spend=D("0.20"), n=1)
    _, hooks = _settle(ledger, job_id, spend=D("0.20"), related=())
    reads = [s for s in _run(hooks) if s.startswith("SELECT")]
    assert len(reads) == 1  # the deployment's profile and the draft joined to the outcome
    fact = JobCost.objects.get(pk=job_id)
    assert (fact.model, fact.images) == ("gpt-image-2", 1)
    assert fact.draft_id == GenerationJob.objects.get(pk=job_id).draft_version.draft_id


def test_an_instance_that_is_not_the_committed_row_is_read_again(ledger, warm_price):
    job_id = _running_job(ledger, spend=D("0.30"), n=1)

    def changed_after_saving(job):
        job.actual_cost = D("9")  # never saved: the committed row says 0.30

    _, hooks = _settle(ledger, job_id, spend=D("0.30"), after_save=changed_after_saving)
    reads = [s for s in _run(hooks) if s.startswith("SELECT")]
    assert len(reads) == 2
    assert JobCost.objects.get(pk=job_id).spend == D("0.30")


def test_the_catch_up_path_records_the_same_fact(ledger, warm_price):
    first, second = _running_job(ledger, spend=D("0.15"), n=2), _running_job(ledger, spend=D("0.15"), n=2)
    _, hooks = _settle(ledger, first, spend=D("0.15"))
    _run(hooks)
    _settle(ledger, second, spend=D("0.15"))  # its hooks lost
    with CaptureQueriesContext(connection) as ctx:
        fact = job_cost_record(second)
    reads = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("SELECT")]
    assert len(reads) == 2  # the outcome with model, provider, draft and images; then the job
    hooked = JobCost.objects.get(pk=first)
    fields = ("workspace_id", "campaign_id", "model", "images", "spend", "status", "latency_ms", "price_rates")
    assert {f: getattr(fact, f) for f in fields} == {f: getattr(hooked, f) for f in fields}
    assert fact.draft_id == GenerationJob.objects.get(pk=second).draft_version.draft_id
    assert job_cost_record(second) is None  # recorded once
    assert job_cost_record(second, job=GenerationJob.objects.get(pk=second)) is None
    total = CostBreakdownDay.objects.get(campaign_ref=ledger.campaign.pk, period="D", dimension="total")
    assert (total.jobs, total.images, total.spend) == (2, 4, D("0.30"))
    [latency] = CostHistogramDay.objects.filter(metric="latency_ms", campaign_ref=ledger.campaign.pk, period="D")
    assert latency.count == 2  # both in one bucket


def test_a_job_not_settled_in_the_database_is_not_recorded(ledger):
    job_id = _running_job(ledger, spend=D("0.10"), n=1)
    job = GenerationJob.objects.get(pk=job_id)
    job.status, job.actual_cost, job.finished_at = JobStatus.SUCCEEDED, D("0.10"), timezone.now()  # not saved
    assert job_cost_record(job_id, job=job) is None
    assert not JobCost.objects.exists()


def test_the_alert_check_uses_the_settled_numbers_and_still_re_checks_under_the_lock(ledger, ws_admin):
    campaign = Campaign.objects.get(pk=ledger.campaign.pk)
    below = BudgetUse(D("10"), D("1"), D("0"), 80, None)
    with CaptureQueriesContext(connection) as ctx:
        assert not budget_alert_check(campaign.pk, use=below)
    assert ctx.captured_queries == []
    # The numbers say crossed but another settle sent it meanwhile: the locked re-check says no.
    Campaign.objects.filter(pk=campaign.pk).update(budget_alert_sent_at=timezone.now())
    assert not budget_alert_check(campaign.pk, use=BudgetUse(D("10"), D("9"), D("0"), 80, None))
    assert not Notification.objects.filter(kind="costs.budget_alert").exists()
    Campaign.objects.filter(pk=campaign.pk).update(budget=D("10"), spent_cost=D("9"), budget_alert_sent_at=None)
    assert budget_alert_check(campaign.pk, use=BudgetUse(D("10"), D("9"), D("0"), 80, None))
    assert Notification.objects.filter(kind="costs.budget_alert").count() == 1


def test_the_settle_that_crosses_the_threshold_alerts_from_its_own_numbers(ledger, ws_admin, warm_price):
    Campaign.objects.filter(pk=ledger.campaign.pk).update(budget=D("1"))
    job_id = _running_job(ledger, spend=D("0.90"), n=1)
    _, hooks = _settle(ledger, job_id, spend=D("0.90"))
    _run(hooks)
    assert Campaign.objects.get(pk=ledger.campaign.pk).budget_alert_sent_at is not None
    assert Notification.objects.filter(kind="costs.budget_alert").count() == 1
