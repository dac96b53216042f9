"""The rollups equal a direct recomputation from jobs, variants and reviews after any sequence of
generations, edits, localisations, re-runs, failures and decisions, including hooks lost to a crash
and repaired by the catch-up task: every total and breakdown line, for the workspace and the campaign,
and the percentiles read from the histograms. And the rows the hooks built equal a rebuild."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvals.costs.models import CostBreakdownDay, CostHistogramDay
from approvals.costs.rollups import BREAKDOWNS, SUMS
from approvals.costs.selectors import cost_report, operations_report, scope_for
from approvals.costs.selectors.recompute import recompute
from approvals.costs.services import costs_catch_up
from approvals.costs.services.rollups import mark_rebuilt, rollups_rebuild
from studio.generation.models import JobStatus, Operation, VariantStatus
from tests import factories as f
from tests.costs.conftest import Ledger

money = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("2"), places=6)
step = st.one_of(
    st.tuples(st.just("generate"), st.integers(1, 3), money, st.sampled_from(["low", "medium", "high"])),
    st.tuples(st.just("edit"), st.integers(0, 50), money, st.just("medium")),
    st.tuples(st.just("localise"), st.integers(0, 50), money, st.just("high")),
    st.tuples(st.just("rerun"), st.integers(0, 50), money, st.just("medium")),
    st.tuples(st.just("fail"), st.integers(0, 0), money, st.just("low")),
    st.tuples(st.just("approve"), st.integers(0, 50), money, st.just("")),
    st.tuples(st.just("reject"), st.integers(0, 50), money, st.just("")),
    st.tuples(st.just("crash"), st.booleans(), money, st.just("")),
)


def _extras(i: int, spend: Decimal) -> dict:
    """Varied estimates, latencies, lineage starts, cached input and sizes, for the percentiles and the
    size-class and cached breakdowns."""
    settled = timezone.now() - dt.timedelta(days=(5 * i) % 23)  # over several weeks, some ragged
    return {
        "estimated": (spend * (1 + Decimal((i % 4) - 1) / 8)).quantize(Decimal("0.000001")),
        "latency": 300 + 97 * i * i,
        "when": settled,
        "created": settled - dt.timedelta(minutes=37 * i + 1),
        "cached": 200 if i % 3 == 0 else 0,
        "width": (1024, 1536, 2048)[i % 3],
    }


def _apply(ledger: Ledger, steps) -> None:
    versions = [ledger.version(), ledger.version()]
    reviewers = [ledger.user, f.MembershipFactory(workspace=ledger.workspace).user]
    jobs, images, decided = [], [], set()
    for i, (kind, arg, spend, quality) in enumerate(steps):
        version = versions[i % 2]
        ready = [v for v in images if v.pk not in decided]
        approved = [v for v in images if v.status_after == "approved"]
        if kind == "crash":
            ledger.live = not arg
            continue
        more = _extras(i, spend)
        if kind == "generate":
            job = ledger.job(version, spend, n=arg, quality=quality, **more)
        elif kind == "edit" and images:
            base = images[arg % len(images)]
            version = base.draft.versions.first()
            job = ledger.job(version, spend, operation=Operation.EDIT, base=base, quality=quality, **more)
        elif kind == "localise" and approved:
            base = approved[arg % len(approved)]
            version = base.draft.versions.first()
            job = ledger.job(version, spend, operation=Operation.LOCALISE, base=base, locale="ja", **more)
        elif kind == "rerun" and jobs:
            original = jobs[arg % len(jobs)]
            job = ledger.job(
                original.draft_version,
                spend,
                operation=Operation.RERUN,
                rerun_of=original,
                base=original.base_variant,
                **more,
            )
        elif kind == "fail":
            job = ledger.job(version, spend, status=JobStatus.FAILED, **more)
        elif kind in ("approve", "reject") and ready:
            target = ready[arg % len(ready)]
            ledger.decide(
                target,
                VariantStatus.APPROVED if kind == "approve" else VariantStatus.REJECTED,
                reviewer=reviewers[arg % len(reviewers)],
                waited=dt.timedelta(minutes=13 * arg + 1),
            )
            decided.add(target.pk)
            target.status_after = "approved" if kind == "approve" else "rejected"
            continue
        else:
            continue
        jobs.append(job)
        for v in job.made:
            v.status_after = ""
            images.append(v)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(steps=st.lists(step, min_size=1, max_size=14))
def test_rollups_equal_a_recomputation(steps, offline_deployment, django_capture_on_commit_callbacks):
    workspace = f.WorkspaceFactory()
    campaign = f.CampaignFactory(workspace=workspace, budget=Decimal("1000"))
    deployment = f.DeploymentFactory(workspace=workspace, profile=offline_deployment.profile)
    user = f.MembershipFactory(workspace=workspace).user
    ledger = Ledger(
        workspace=workspace,
        campaign=campaign,
        deployment=deployment,
        user=user,
        hooks=django_capture_on_commit_callbacks,
    )
    mark_rebuilt()  # the rollups are current: the catch-up below must repair them incrementally, not rebuild
    _apply(ledger, steps)
    # What the beat schedule does: repairs whatever a "crash" step lost. The jobs here are backdated up to
    # three weeks, so it is the daily sweep over all jobs that finds them (``full``).
    costs_catch_up(full=True)

    today = timezone.localdate()
    ragged = {"since": today - dt.timedelta(days=17), "until": today - dt.timedelta(days=3)}
    for scope in (
        scope_for(workspace),
        scope_for(workspace, campaign=campaign),
        scope_for(workspace, **ragged),
        scope_for(workspace, campaign=campaign, **ragged),
    ):
        _assert_equal_to_recomputation(scope, everything=scope.until == today)
    incremental = _rollup_rows()
    rollups_rebuild()
    assert _rollup_rows() == incremental  # the per-event upserts and a rebuild from the cost rows agree


def _rollup_rows() -> tuple[set, set]:
    breakdown = {
        (r.campaign_ref, r.day, r.dimension, r.value, r.currency, *(getattr(r, name) for name in SUMS))
        for r in CostBreakdownDay.objects.all()
        if any(getattr(r, name) for name in SUMS)
    }
    histogram = {
        (r.campaign_ref, r.day, r.metric, r.series, r.bucket, r.count)
        for r in CostHistogramDay.objects.all()
        if r.count
    }
    return breakdown, histogram


def _assert_equal_to_recomputation(scope, *, everything: bool) -> None:
    report = cost_report(scope)
    ops = operations_report(scope)
    direct = recompute(scope)
    assert report.spend == direct["spend"]
    assert report.total.jobs == direct["jobs"]
    assert report.generated == direct["generated"]
    assert report.waste == direct["waste"]
    assert report.approved == direct["approved"]
    assert report.published == direct["published"]
    assert report.total.lineage_spend == direct["lineage_spend"]
    assert report.total.cached_jobs == direct["cached_jobs"]
    if everything:  # every job and approval in the range: every dollar is in a lineage or in waste
        assert report.total.lineage_spend + report.waste == report.spend
    for dimension in BREAKDOWNS:
        got = {
            line.key: {
                "spend": line.spend,
                "jobs": line.jobs,
                "generated": line.generated,
                "approved": line.approved,
                "lineage_spend": line.lineage_spend,
            }
            for line in report.breakdowns[dimension]
        }
        assert got == direct[f"by_{dimension}"], dimension
    if scope.campaign is None:
        assert {pk: line.spend for pk, line in report.by_campaign.items()} == direct["by_campaign"]
    assert {(o["status"], o["cause"]): o["jobs"] for o in report.outcomes} == direct["outcomes"]
    assert report.hours_to_approval == direct["hours_to_approval"]
    names = dict(scope.workspace.deployments.values_list("pk", "name"))
    assert {r["deployment"]: (r["p50_ms"], r["p95_ms"]) for r in ops.latency} == {
        names[pk]: v for pk, v in direct["latency"].items()
    }
    names = {u.pk: u.username for u in get_user_model().objects.filter(pk__in=list(direct["reviewers"]))}
    got = {r["reviewer"]: (r["decided"], r["median_hours_to_decision"]) for r in ops.reviewers if r["decided"]}
    assert got == {names[pk]: v for pk, v in direct["reviewers"].items()}
    errors = direct["estimate_error"]
    assert ops.estimate_median_abs_error_pct == errors["median_pct"]
    assert ops.accuracy_observations == errors["observations"]
    worst = sorted(errors["by_class"].values(), reverse=True)[: len(ops.worst_classes)]
    assert [c["median_error_pct"] for c in ops.worst_classes] == worst
    for c in ops.worst_classes:
        assert errors["by_class"][(c["model"], c["quality"], c["size_class"])] == c["median_error_pct"]
