"""Recording settled jobs and decisions into the cost rows and rollups, through the real hooks."""

from __future__ import annotations

import datetime as dt
import io
import itertools
from decimal import Decimal

from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from approvals.costs.models import WORKSPACE_WIDE, AssetCost, CostBreakdownDay, CostWatermark, JobCost, Period
from approvals.costs.selectors import cost_report, scope_for
from approvals.costs.services import budget_alert_check, budget_alert_threshold_set, costs_catch_up, job_cost_record
from studio.core.models import AuditEvent, Notification
from studio.generation.models import Campaign, JobStatus, Operation, PriceTable, VariantStatus

D = Decimal


def test_settle_records_the_job_once_with_its_price_and_cached_savings(ledger, price_table):
    job = ledger.job(ledger.version(), "0.120000", n=2, cached=1000)
    fact = JobCost.objects.get(pk=job.pk)
    assert fact.spend == D("0.12")
    assert fact.images == 2
    assert fact.price_table == price_table
    # 1000 cached text tokens at $5 - $1.25 per million
    assert fact.cached_savings == D("0.003750")
    assert job_cost_record(job.pk) is None  # already recorded: idempotent
    for ref, period in itertools.product((WORKSPACE_WIDE, ledger.campaign.pk), Period.values):
        rollup = CostBreakdownDay.objects.get(campaign_ref=ref, period=period, dimension="total")
        assert (rollup.jobs, rollup.images, rollup.spend, rollup.cached_jobs) == (1, 2, D("0.12"), 1)


def test_decision_moves_spend_from_waste_to_the_approved_asset(ledger):
    version = ledger.version()
    master = ledger.job(version, "0.40", n=2)
    edit = ledger.job(version, "0.10", operation=Operation.EDIT, base=master.made[0])
    scope = scope_for(ledger.workspace)
    assert cost_report(scope).waste == D("0.50")
    ledger.decide(edit.made[0])
    report = cost_report(scope)
    assert report.waste == D(0)
    assert report.approved == 1
    assert report.total.lineage_spend == D("0.50")
    asset = AssetCost.objects.get()
    assert asset.lineage_jobs == 2
    assert asset.variant_id == edit.made[0].pk


def test_a_price_table_edited_after_settling_changes_no_settled_cost(ledger, price_table):
    ledger.job(ledger.version(), "0.12")
    PriceTable.objects.filter(pk=price_table.pk).update(image_output=D("99"))
    report = cost_report(scope_for(ledger.workspace))
    assert report.spend == D("0.12")
    [applied] = report.prices
    assert applied.pk == price_table.pk
    assert applied.edited_since


def test_catch_up_repairs_lost_hooks(ledger):
    ledger.live = False
    version = ledger.version()
    job = ledger.job(version, "0.30")
    ledger.decide(job.made[0])
    assert not JobCost.objects.exists()
    counts = costs_catch_up()
    assert counts["jobs"] == 1
    report = cost_report(scope_for(ledger.workspace))
    assert report.spend == D("0.30")
    assert report.approved == 1
    assert report.waste == D(0)
    assert costs_catch_up()["jobs"] == 0  # idempotent


def test_failed_and_blocked_jobs_count_by_cause(ledger):
    version = ledger.version()
    ledger.job(version, "0.10")
    ledger.job(version, "0", status=JobStatus.BLOCKED)
    report = cost_report(scope_for(ledger.workspace))
    assert report.total.jobs == 2
    assert report.outcomes == [{"status": "blocked", "cause": "blocked", "jobs": 1, "rate": 50.0}]


def test_budget_alert_is_sent_once_to_admins_and_audited(ledger, ws_admin):
    campaign = Campaign.objects.get(pk=ledger.campaign.pk)
    campaign.budget = D("1.00")
    campaign.save(update_fields=["budget"])
    version = ledger.version()
    ledger.job(version, "0.50")
    assert Campaign.objects.get(pk=campaign.pk).budget_alert_sent_at is None
    ledger.job(version, "0.35")  # 85% >= 80%
    campaign.refresh_from_db()
    assert campaign.budget_alert_sent_at is not None
    notes = Notification.objects.filter(kind="costs.budget_alert")
    assert [n.user for n in notes] == [ws_admin]
    assert "$0.85 of its $1.00 budget" in notes[0].text
    assert len(mail.outbox) == 1
    assert AuditEvent.objects.filter(action="costs.budget.alert_sent").count() == 1
    ledger.job(version, "0.05")
    assert not budget_alert_check(campaign.pk)
    assert notes.count() == 1


def test_raising_the_threshold_rearms_the_alert(ledger, ws_admin, django_capture_on_commit_callbacks):
    campaign = Campaign.objects.get(pk=ledger.campaign.pk)
    Campaign.objects.filter(pk=campaign.pk).update(
        budget=D("1"), spent_cost=D("0.85"), budget_alert_sent_at=timezone.now() - dt.timedelta(days=1)
    )
    campaign.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        budget_alert_threshold_set(actor=ws_admin, campaign=campaign, percent=90)
    campaign.refresh_from_db()
    assert campaign.budget_alert_percent == 90
    assert campaign.budget_alert_sent_at is None
    assert AuditEvent.objects.filter(action="costs.budget.alert_threshold_changed").exists()


def test_localised_child_and_rerun_in_the_report(ledger):
    version = ledger.version()
    master = ledger.job(version, "0.30")
    ledger.decide(master.made[0])
    child = ledger.job(version, "0.08", operation=Operation.LOCALISE, base=master.made[0], locale="ja")
    ledger.decide(child.made[0])
    first = ledger.job(version, "0.20")
    ledger.decide(first.made[0], outcome=VariantStatus.REJECTED)
    rerun = ledger.job(version, "0.20", operation=Operation.RERUN, rerun_of=first)
    ledger.decide(rerun.made[0])
    spends = dict(AssetCost.objects.values_list("variant_id", "lineage_spend"))
    assert spends == {master.made[0].pk: D("0.30"), child.made[0].pk: D("0.08"), rerun.made[0].pk: D("0.40")}
    report = cost_report(scope_for(ledger.workspace))
    by_locale = {line.label: line.approved for line in report.breakdowns["locale"]}
    assert by_locale == {"(no locale)": 2, "ja": 1}
    assert report.waste == D(0)
    assert report.spend == D("0.78")


def test_the_first_catch_up_after_a_deploy_builds_the_rollups_from_the_cost_rows(ledger):
    version = ledger.version()
    job = ledger.job(version, "0.25")
    ledger.decide(job.made[0])
    before = cost_report(scope_for(ledger.workspace))
    CostBreakdownDay.objects.all().delete()  # as after a migration that adds the rollup tables
    CostWatermark.objects.filter(name="rollups-rebuilt").delete()
    assert cost_report(scope_for(ledger.workspace)).is_empty
    costs_catch_up()
    after = cost_report(scope_for(ledger.workspace))
    assert (after.spend, after.approved, after.total.lineage_spend) == (before.spend, 1, D("0.25"))
    call_command("costs_rebuild", stdout=io.StringIO())  # by hand: the same numbers again
    assert cost_report(scope_for(ledger.workspace)).spend == D("0.25")


def test_budget_alert_check_below_the_threshold_takes_no_campaign_lock(ledger, ws_admin):
    """Issue 11's runs settle a cell every few milliseconds: the alert check after each must not queue on
    the campaign row a second time unless the threshold is really crossed (then it locks and re-checks)."""
    from unittest import mock

    from approvals.costs.services import alerts

    Campaign.objects.filter(pk=ledger.campaign.pk).update(budget=D("10"), spent_cost=D("1"), reserved_cost=D("0"))
    with mock.patch.object(alerts, "campaign_lock", wraps=alerts.campaign_lock) as lock:
        assert not budget_alert_check(ledger.campaign.pk)  # 10%: below 80%
        assert lock.call_count == 0
        Campaign.objects.filter(pk=ledger.campaign.pk).update(spent_cost=D("8.5"))
        assert budget_alert_check(ledger.campaign.pk)  # crossed: locked, re-checked, sent
        assert lock.call_count == 1
        assert not budget_alert_check(ledger.campaign.pk)  # already sent: no lock again
        assert lock.call_count == 1
    assert Notification.objects.filter(kind="costs.budget_alert").count() == 1
