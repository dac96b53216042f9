"""Who paid for what: the spend of a draft's jobs attributed to the approved assets it led to.

Pure arithmetic over a draft's lineage (no database), so the rules can be tested on hand-built trees:

- A job's **production group** is the job and its re-runs (``rerun_of``): their images are siblings, made
  to answer the same request. A group's settled spend goes, in equal shares, to those of its images that
  lead to an approval (are approved, or have an approved descendant); rejected siblings carry no cost of
  their own, their share is the price of the image that was kept. A group none of whose images lead to an
  approval is **waste**, as is a charged call that returned nothing.
- The lineage of an image is its job's base image (the image an edit, inpaint or localisation started
  from), recursively. An image that is not approved passes everything it carries, in equal shares, to its
  children that lead to an approval. An approved image keeps what it carries: it is a usable asset, so a
  localised child of an approved master starts its own lineage and pays only for its localisation.

Every dollar ends either in exactly one approved asset's ``lineage_spend`` or in waste, so
``sum(lineage_spend) + waste == total spend`` (the tests check it).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

ZERO = Decimal(0)


@dataclass(frozen=True)
class JobNode:
    pk: int
    spend: Decimal
    created_at: datetime
    base_variant_id: int | None = None
    rerun_of_id: int | None = None


@dataclass(frozen=True)
class VariantNode:
    pk: int
    job_id: int
    approved: bool


@dataclass
class AssetLineage:
    variant_id: int
    spend: Decimal = ZERO
    job_ids: set[int] = field(default_factory=set)
    first_generation_at: datetime | None = None


@dataclass
class Attribution:
    assets: dict[int, AssetLineage]
    productive: dict[int, Decimal]  # job pk -> the part of its spend an approved asset carries
    waste: Decimal

    @property
    def total_attributed(self) -> Decimal:
        return sum((a.spend for a in self.assets.values()), ZERO)


def _group_root(job_id: int, jobs: dict[int, JobNode]) -> int:
    seen = set()
    while (parent := jobs[job_id].rerun_of_id) in jobs and job_id not in seen:
        seen.add(job_id)
        job_id = parent
    return job_id


def attribute(jobs: list[JobNode], variants: list[VariantNode]) -> Attribution:
    """Attribute the spend of ``jobs`` (one draft's) to the approved ones among ``variants``."""
    job_by_pk = {j.pk: j for j in jobs}
    by_pk = {v.pk: v for v in variants}
    children: dict[int, list[int]] = defaultdict(list)
    parent_of: dict[int, int] = {}
    for v in variants:
        base = job_by_pk[v.job_id].base_variant_id if v.job_id in job_by_pk else None
        if base in by_pk:
            children[base].append(v.pk)
            parent_of[v.pk] = base

    # Which images lead to an approval: children always come after their parents (higher pk).
    leads: dict[int, bool] = {}
    for pk in sorted(by_pk, reverse=True):
        leads[pk] = by_pk[pk].approved or any(leads[c] for c in children[pk])

    # Each production group's spend, split over its images that lead to an approval.
    group_jobs: dict[int, list[int]] = defaultdict(list)
    for j in jobs:
        group_jobs[_group_root(j.pk, job_by_pk)].append(j.pk)
    group_of = {pk: root for root, members in group_jobs.items() for pk in members}
    group_outputs: dict[int, list[int]] = defaultdict(list)
    for v in variants:
        if v.job_id in group_of and leads[v.pk]:
            group_outputs[group_of[v.job_id]].append(v.pk)

    carry: dict[int, Decimal] = defaultdict(lambda: ZERO)
    carry_jobs: dict[int, set[int]] = defaultdict(set)
    productive: dict[int, Decimal] = {j.pk: ZERO for j in jobs}
    waste = ZERO
    for root, members in group_jobs.items():
        spend = sum((job_by_pk[pk].spend for pk in members), ZERO)
        outputs = group_outputs.get(root)
        if not outputs:
            waste += spend
            continue
        for pk in members:
            productive[pk] = job_by_pk[pk].spend
        _share(spend, outputs, carry)
        for out in outputs:
            carry_jobs[out].update(members)

    assets: dict[int, AssetLineage] = {}
    for pk in sorted(by_pk):  # parents before children
        if not leads[pk]:
            continue
        node = by_pk[pk]
        if node.approved:
            jobs_in = carry_jobs[pk]
            first = min((job_by_pk[j].created_at for j in jobs_in), default=None)
            assets[pk] = AssetLineage(variant_id=pk, spend=carry[pk], job_ids=set(jobs_in), first_generation_at=first)
            continue
        heirs = [c for c in children[pk] if leads[c]]
        _share(carry[pk], heirs, carry)
        for heir in heirs:
            carry_jobs[heir] |= carry_jobs[pk]
    return Attribution(assets=assets, productive=productive, waste=waste)


def _share(amount: Decimal, heirs: list[int], carry: dict[int, Decimal]) -> None:
    """Split ``amount`` over ``heirs`` to the micro-dollar, the remainder going to the first ones, so
    the shares add up to ``amount`` exactly."""
    if not heirs:
        return
    quantum = Decimal("0.000001")
    each = (amount / len(heirs)).quantize(quantum, rounding="ROUND_DOWN")
    remainder = amount - each * len(heirs)
    for index, heir in enumerate(sorted(heirs)):
        extra = quantum if remainder >= quantum * (index + 1) else ZERO
        carry[heir] += each + extra
