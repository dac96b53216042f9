"""Attribution on hand-built lineages: every dollar lands in one approved asset or in waste."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from approvals.costs.attribution import JobNode, VariantNode, attribute

T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
D = Decimal


def job(pk, spend, *, base=None, rerun_of=None, hour=0):
    return JobNode(
        pk=pk, spend=D(spend), created_at=T0 + dt.timedelta(hours=hour), base_variant_id=base, rerun_of_id=rerun_of
    )


def variant(pk, job_id, approved=False):
    return VariantNode(pk=pk, job_id=job_id, approved=approved)


def _conserves(result, jobs):
    assert result.total_attributed + result.waste == sum((j.spend for j in jobs), D(0))


def test_approved_after_two_edits_carries_its_lineage_and_its_rejected_siblings():
    # generate (2 images: 10 kept, 11 rejected) -> edit 10 -> 12 -> edit 12 -> 13 approved + 14 rejected sibling
    jobs = [job(1, "0.40"), job(2, "0.10", base=10, hour=1), job(3, "0.20", base=12, hour=2)]
    variants = [variant(10, 1), variant(11, 1), variant(12, 2), variant(13, 3, approved=True), variant(14, 3)]
    result = attribute(jobs, variants)
    asset = result.assets[13]
    assert asset.spend == D("0.70")  # all three jobs, rejected siblings' shares included
    assert asset.job_ids == {1, 2, 3}
    assert asset.first_generation_at == T0
    assert result.waste == D(0)
    assert result.productive == {1: D("0.40"), 2: D("0.10"), 3: D("0.20")}
    _conserves(result, jobs)


def test_a_dead_end_edit_is_waste():
    jobs = [job(1, "0.40"), job(2, "0.10", base=10), job(3, "0.05", base=10)]
    variants = [variant(10, 1), variant(12, 2, approved=True), variant(13, 3)]
    result = attribute(jobs, variants)
    assert result.assets[12].spend == D("0.50")
    assert result.waste == D("0.05")
    assert result.productive[3] == D(0)
    _conserves(result, jobs)


def test_localised_child_of_an_approved_master_pays_only_for_its_localisation():
    jobs = [job(1, "0.30"), job(2, "0.08", base=10, hour=3)]
    variants = [variant(10, 1, approved=True), variant(20, 2, approved=True)]
    result = attribute(jobs, variants)
    assert result.assets[10].spend == D("0.30")
    assert result.assets[20].spend == D("0.08")
    assert result.assets[20].first_generation_at == T0 + dt.timedelta(hours=3)
    _conserves(result, jobs)


def test_a_rerun_shares_its_cost_with_the_job_it_repeats():
    # job 1's image is rejected; its re-run (job 2) gives the approved image: both were spent on it
    jobs = [job(1, "0.25"), job(2, "0.25", rerun_of=1, hour=1)]
    variants = [variant(10, 1), variant(11, 2, approved=True)]
    result = attribute(jobs, variants)
    assert result.assets[11].spend == D("0.50")
    assert result.assets[11].job_ids == {1, 2}
    assert result.waste == D(0)
    _conserves(result, jobs)


def test_two_approved_siblings_split_their_job_to_the_micro_dollar():
    jobs = [job(1, "0.100000")]
    variants = [variant(10, 1, approved=True), variant(11, 1, approved=True), variant(12, 1, approved=True)]
    result = attribute(jobs, variants)
    shares = sorted(a.spend for a in result.assets.values())
    assert shares == [D("0.033333"), D("0.033333"), D("0.033334")]
    _conserves(result, jobs)


def test_a_failed_charged_call_and_an_unapproved_draft_are_waste():
    jobs = [job(1, "0.02"), job(2, "0.30")]
    variants = [variant(10, 2)]
    result = attribute(jobs, variants)
    assert result.assets == {}
    assert result.waste == D("0.32")


def test_a_master_with_approved_descendants_on_two_branches_splits_between_them():
    jobs = [job(1, "0.40"), job(2, "0.10", base=10), job(3, "0.20", base=10)]
    variants = [variant(10, 1), variant(11, 2, approved=True), variant(12, 3, approved=True)]
    result = attribute(jobs, variants)
    assert result.assets[11].spend == D("0.30")  # half the master + its own edit
    assert result.assets[12].spend == D("0.40")
    _conserves(result, jobs)
