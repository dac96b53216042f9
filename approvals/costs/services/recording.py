"""Recording costs: each settled job once into ``JobCost`` and the rollups; each decision that changes
a draft's approvals into its ``AssetCost`` rows, and the difference into the rollups.

Both are idempotent and run after the change they follow has committed (``receivers``), so a crash in
between loses nothing: ``costs_catch_up`` (every few minutes, from the beat schedule) records settled
jobs that have no cost row yet and refreshes drafts whose reviews closed or that published since it
last looked.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import NamedTuple

from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Min
from django.utils import timezone

from approvals.costs.attribution import JobNode, VariantNode, attribute
from approvals.costs.models import DEFAULT_CURRENCY, AssetCost, CostWatermark, JobCost
from approvals.costs.prices import price_rates, rates_digest
from approvals.costs.rollups import RollupDelta
from approvals.costs.services.rollups import rebuild_needed, rollups_apply, rollups_rebuild
from approvals.publishing.models import Publication
from approvals.reviews.models import Review, ReviewStatus
from studio.generation.models import JOB_TERMINAL, Deployment, GenerationJob, JobStatus, Variant, VariantStatus
from studio.generation.pricing import PriceNotFound, price_for
from studio.lib.pricing import PER_MILLION, pixel_class, quantize_cost, usage_from_dict

logger = logging.getLogger(__name__)
APPROVED_STATES = (VariantStatus.APPROVED, VariantStatus.PUBLISHED)
CATCH_UP_BATCH = 2000


def _cached_savings(usage, price) -> Decimal:
    """What the cached input saved against the uncached rates of the price that applied."""
    if price is None:
        return Decimal(0)
    saved = usage.cached_text_tokens * (price.text_input - price.cached_text_input) + usage.cached_image_tokens * (
        price.image_input - price.cached_image_input
    )
    return quantize_cost(Decimal(saved) / PER_MILLION)


class SettledRow(NamedTuple):
    """What a cost row needs beyond the job's own fields (its model, provider, draft and images), with the
    committed job's outcome, against which an instance handed over by the settle is checked."""

    model: str
    provider: str
    draft_id: int | None
    status: str
    actual_cost: Decimal
    finished_at: dt.datetime
    images: int


_OUTCOME = ("status", "actual_cost", "finished_at")
_RELATED = ("deployment__profile__name", "deployment__provider", "draft_version__draft_id")


def _related_keys(job: GenerationJob) -> tuple[str, str, int | None] | None:
    """The model, provider and draft of ``job`` from the related rows already on the instance (a job's
    deployment and version never change), or ``None`` when one of them would be a query."""
    if not GenerationJob.deployment.is_cached(job) or not Deployment.profile.is_cached(job.deployment):
        return None
    if job.draft_version_id is None:
        return job.deployment.profile.name, job.deployment.provider, None
    if not GenerationJob.draft_version.is_cached(job):
        return None
    return job.deployment.profile.name, job.deployment.provider, job.draft_version.draft_id


def _settled_row(job_id: int, keys: tuple[str, str, int | None] | None) -> SettledRow | None:
    """One query: the committed job's outcome and number of images if it has settled, and its model,
    provider and draft unless ``keys`` has them already."""
    names = _OUTCOME if keys else (*_OUTCOME, *_RELATED)
    rows = (
        GenerationJob.objects.filter(pk=job_id, finished_at__isnull=False, actual_cost__isnull=False)
        .order_by()
        .values_list(*names)
        .annotate(images=Count("variants"))
    )
    row = next(iter(rows[:1]), None)
    if row is None:
        return None
    status, actual_cost, finished_at, *related, images = row
    model, provider, draft_id = keys or related
    return SettledRow(model, provider, draft_id, status, actual_cost, finished_at, images)


def _is_committed(job: GenerationJob, row: SettledRow) -> bool:
    """True when ``job`` (the instance the settle saved) is the committed row: same outcome and money,
    and none of its fields deferred (each would be a query of its own)."""
    return (
        not job._state.adding
        and not job.get_deferred_fields()
        and (job.status, job.actual_cost, job.finished_at) == (row.status, row.actual_cost, row.finished_at)
    )


def job_cost_fact(job: GenerationJob, row: SettledRow) -> JobCost:
    """The cost row of a settled ``job`` (not saved). Settled money is the job's own ``actual_cost``, never
    recomputed from today's prices; the price row that applied on the day it settled is named with a
    snapshot of its rates, so a later edit of the table shows as a difference instead of a new cost."""
    settled_at = job.finished_at or timezone.now()
    try:
        price = price_for(model_name=row.model, provider=row.provider, on=timezone.localdate(settled_at))
    except PriceNotFound:
        price = None
    usage = usage_from_dict(job.usage or {})
    cause = "" if job.status == JobStatus.SUCCEEDED else (job.error_code or job.status)[:60]
    rates = price_rates(price)
    return JobCost(
        job_id=job.pk,
        workspace_id=job.workspace_id,
        campaign_id=job.campaign_id,
        draft_id=row.draft_id,
        deployment_id=job.deployment_id,
        settled_at=settled_at,
        day=timezone.localdate(settled_at),
        model=row.model,
        quality=str((job.params or {}).get("quality") or "auto")[:20],
        size_class=pixel_class(job.planned_width, job.planned_height),
        locale=job.locale,
        route=job.route,
        operation=job.operation,
        status=job.status,
        cause=cause,
        currency=DEFAULT_CURRENCY,
        spend=job.actual_cost or Decimal(0),
        estimated_cost=job.estimated_cost,
        images=row.images,
        output_tokens=usage.output_image_tokens,
        cached_tokens=usage.cached_text_tokens + usage.cached_image_tokens,
        cached_savings=_cached_savings(usage, price),
        latency_ms=job.latency_ms or _duration_ms(job),
        price_table=price,
        price_rates=rates,
        rates_digest=rates_digest(rates),
    )


def _duration_ms(job: GenerationJob) -> int | None:
    if job.started_at and job.finished_at and job.status == JobStatus.SUCCEEDED:
        return max(0, int((job.finished_at - job.started_at).total_seconds() * 1000))
    return None


def job_cost_record(job_id: int, *, job: GenerationJob | None = None) -> JobCost | None:
    """Record a settled job once (its cost row and its rollup). ``None`` if not settled or already done.

    ``job`` is the instance the settle saved (the ``job_settled`` hook passes it after the commit): when it
    matches the committed row it is used as it is, with the deployment and version it carries, so recording
    reads one row (``_settled_row``: outcome and number of images) and the price (remembered per process,
    ``price_for``); otherwise (the catch-up, or an instance that is not the committed row) the job is read
    again."""
    if job is not None and job.pk != job_id:
        job = None
    row = _settled_row(job_id, _related_keys(job) if job is not None else None)
    if row is None or row.status not in JOB_TERMINAL:
        return None
    if job is None or not _is_committed(job, row):
        job = GenerationJob.objects.get(pk=job_id)
    fact = job_cost_fact(job, row)
    delta = RollupDelta()
    delta.add_job(fact)
    try:
        with transaction.atomic():
            fact.save(force_insert=True)
            rollups_apply(delta)
    except IntegrityError:
        return None  # recorded by another delivery (receiver and catch-up racing)
    return fact


def _approval_times(variant_ids: list[int]) -> tuple[dict[int, dt.datetime], dict[int, dt.datetime]]:
    approved = dict(
        Review.objects.filter(variant_id__in=variant_ids, status=ReviewStatus.APPROVED, closed_at__isnull=False)
        .values("variant_id")
        .annotate(at=Max("closed_at"))
        .values_list("variant_id", "at")
    )
    published = dict(
        Publication.objects.filter(variant_id__in=variant_ids)
        .values("variant_id")
        .annotate(at=Min("created_at"))
        .values_list("variant_id", "at")
    )
    return approved, published


@transaction.atomic
def draft_attribution_refresh(draft_id: int) -> int:
    """Re-attribute one draft's spend after its approvals changed: rewrite its ``AssetCost`` rows and move
    the difference in productive spend into the rollups. Returns the number of approved assets.

    The draft's cost rows are locked (in pk order), so two refreshes of one draft never both apply a
    difference; a job settling meanwhile only adds a row no approval can yet reach."""
    facts = {f.pk: f for f in JobCost.objects.select_for_update(no_key=True).filter(draft_id=draft_id).order_by("pk")}
    job_rows = GenerationJob.objects.filter(pk__in=list(facts)).values_list(
        "pk", "created_at", "base_variant_id", "rerun_of_id"
    )
    jobs = [
        JobNode(pk=pk, spend=facts[pk].spend, created_at=created, base_variant_id=base, rerun_of_id=rerun)
        for pk, created, base, rerun in job_rows
    ]
    rows = list(Variant.objects.filter(draft_id=draft_id).values_list("pk", "job_id", "status"))
    statuses = {pk: status for pk, _job, status in rows}
    variants = [VariantNode(pk=pk, job_id=job_id, approved=status in APPROVED_STATES) for pk, job_id, status in rows]
    result = attribute(jobs, variants)

    delta = RollupDelta()
    for pk, fact in facts.items():
        new = result.productive.get(pk, Decimal(0))
        change = new - fact.productive_spend
        if change:
            JobCost.objects.filter(pk=pk).update(productive_spend=new)
            delta.add_productive(fact, change)

    old_assets = list(AssetCost.objects.filter(draft_id=draft_id).order_by("pk"))
    for asset in old_assets:
        delta.add_asset(asset, sign=-1)
    if old_assets:
        AssetCost.objects.filter(draft_id=draft_id).delete()
    variant_job = {v.pk: v.job_id for v in variants}
    approved_at, published_at = _approval_times(list(result.assets))
    now = timezone.now()
    rows = []
    for pk, lineage in result.assets.items():
        own = facts.get(variant_job[pk])
        if own is None:
            continue
        at = approved_at.get(pk) or published_at.get(pk) or now
        first = lineage.first_generation_at or at
        rows.append(
            AssetCost(
                variant_id=pk,
                workspace_id=own.workspace_id,
                campaign_id=own.campaign_id,
                draft_id=draft_id,
                approved_at=at,
                day=timezone.localdate(at),
                published_at=published_at.get(pk) or (at if statuses[pk] == VariantStatus.PUBLISHED else None),
                first_generation_at=first,
                seconds_to_approval=max(0, int((at - first).total_seconds())),
                lineage_spend=lineage.spend,
                lineage_jobs=len(lineage.job_ids),
                currency=own.currency,
                model=own.model,
                deployment_id=own.deployment_id,
                quality=own.quality,
                size_class=own.size_class,
                locale=own.locale,
                route=own.route,
                operation=own.operation,
            )
        )
    AssetCost.objects.bulk_create(rows)
    for asset in rows:
        delta.add_asset(asset)
    # An unchanged draft nets to nothing: a refresh that changes no number writes no rollup row.
    rollups_apply(delta)
    return len(rows)


WATERMARK = "decisions"  # when the catch-up last ran
OVERLAP = dt.timedelta(minutes=5)
# How long before the last run a job still unrecorded may have been created: a job settles within
# hours of its creation, or the sweeper fails it. Reading only these keeps the run off the whole table
# (an anti-join over every job ever: a second at a million); once a day (``full``) it reads them all.
JOB_HORIZON = dt.timedelta(days=7)
FULL_SWEEP = "jobs-full-sweep"
FULL_SWEEP_EVERY = dt.timedelta(days=1)


def costs_catch_up(
    *, now: dt.datetime | None = None, batch: int = CATCH_UP_BATCH, full: bool | None = None
) -> dict[str, int]:
    """Repair what the after-commit hooks missed: settled jobs without a cost row; drafts whose reviews
    closed approved or that published since the last run (re-read with an overlap: refreshing is
    idempotent); recent decisions without a row. Unrecorded jobs are looked for among those created
    since a week before the last run, or among all of them on the first run of a day (or ``full``).
    Builds the rollups first if they were never built from the rows there are (``rebuild_needed``).
    Returns counts, for the task's log."""
    from approvals.costs.services.alerts import budget_alert_check
    from approvals.costs.services.decisions import decisions_catch_up

    now = now or timezone.now()
    if rebuild_needed():
        rollups_rebuild()  # facts older than the rollup tables: build them once, then go on as usual
    mark = CostWatermark.objects.filter(name=WATERMARK).first()
    since = (mark.reached_at - OVERLAP) if mark else None
    unrecorded = GenerationJob.objects.filter(
        finished_at__isnull=False, actual_cost__isnull=False, cost_fact__isnull=True
    )
    swept = CostWatermark.objects.filter(name=FULL_SWEEP).first()
    if full is None:
        full = since is None or swept is None or swept.reached_at < now - FULL_SWEEP_EVERY
    if not full:  # jobs made since shortly before the last run (the created_at index), not all ever
        unrecorded = unrecorded.filter(created_at__gte=since - JOB_HORIZON)
    missing = list(unrecorded.order_by("pk").values_list("pk", flat=True)[:batch])
    recorded = sum(1 for pk in missing if job_cost_record(pk) is not None)
    if full and len(missing) < batch:
        CostWatermark.objects.update_or_create(name=FULL_SWEEP, defaults={"reached_at": now})
    reviews = Review.objects.filter(status=ReviewStatus.APPROVED)
    publications = Publication.objects.all()
    if since is not None:
        reviews = reviews.filter(closed_at__gte=since)
        publications = publications.filter(created_at__gte=since)
    drafts = set(reviews.values_list("variant__draft_id", flat=True)) | set(
        publications.values_list("variant__draft_id", flat=True)
    )
    drafts |= set(JobCost.objects.filter(job_id__in=missing).values_list("draft_id", flat=True))
    drafts.discard(None)
    for draft_id in sorted(drafts):
        draft_attribution_refresh(draft_id)
    CostWatermark.objects.update_or_create(name=WATERMARK, defaults={"reached_at": now})
    campaigns = set(
        GenerationJob.objects.filter(created_at__gte=since or now - dt.timedelta(days=1)).values_list(
            "campaign_id", flat=True
        )
    )
    alerts = sum(1 for pk in sorted(campaigns) if budget_alert_check(pk))
    return {"jobs": recorded, "drafts": len(drafts), "decisions": decisions_catch_up(), "alerts": alerts}
