"""The rollups equal a direct recomputation from jobs, variants and reviews after any sequence of
generations, edits, localisations, re-runs, failures and decisions, including hooks lost to a crash
and repaired by the catch-up task."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvals.costs.selectors import cost_report, scope_for
from approvals.costs.selectors.recompute import recompute
from approvals.costs.services import costs_catch_up
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


def _apply(ledger: Ledger, steps) -> None:
    versions = [ledger.version(), ledger.version()]
    jobs, images, decided = [], [], set()
    for i, (kind, arg, spend, quality) in enumerate(steps):
        version = versions[i % 2]
        ready = [v for v in images if v.pk not in decided]
        approved = [v for v in images if v.status_after == "approved"]
        if kind == "crash":
            ledger.live = not arg
            continue
        if kind == "generate":
            job = ledger.job(version, spend, n=arg, quality=quality)
        elif kind == "edit" and images:
            base = images[arg % len(images)]
            job = ledger.job(base.draft.versions.first(), spend, operation=Operation.EDIT, base=base, quality=quality)
        elif kind == "localise" and approved:
            base = approved[arg % len(approved)]
            job = ledger.job(base.draft.versions.first(), spend, operation=Operation.LOCALISE, base=base, locale="ja")
        elif kind == "rerun" and jobs:
            original = jobs[arg % len(jobs)]
            job = ledger.job(
                original.draft_version, spend, operation=Operation.RERUN, rerun_of=original, base=original.base_variant
            )
        elif kind == "fail":
            job = ledger.job(version, spend, status=JobStatus.FAILED)
        elif kind in ("approve", "reject") and ready:
            target = ready[arg % len(ready)]
            ledger.decide(target, VariantStatus.APPROVED if kind == "approve" else VariantStatus.REJECTED)
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
    _apply(ledger, steps)
    costs_catch_up()  # what the beat schedule does: repairs whatever a "crash" step lost

    scope = scope_for(workspace)
    report = cost_report(scope)
    direct = recompute(scope)
    assert report.spend == direct["spend"]
    assert report.total.jobs == direct["jobs"]
    assert report.generated == direct["generated"]
    assert report.waste == direct["waste"]
    assert report.approved == direct["approved"]
    assert report.total.lineage_spend == direct["lineage_spend"]
    assert report.total.lineage_spend + report.waste == report.spend
    for dimension in ("model", "quality", "operation"):
        got = {line.key: {"spend": line.spend, "approved": line.approved} for line in report.breakdowns[dimension]}
        assert got == direct[f"by_{dimension}"], dimension
