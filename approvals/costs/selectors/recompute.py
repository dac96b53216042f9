"""The cost numbers recomputed straight from the source tables (jobs, variants, reviews, publications),
without the rollups or the cost rows: what the tests and ``cost_report --verify`` compare the rollups
against. Reads every job of the scope, so it is for checking, never for pages.

Percentiles go through the same buckets as the histograms (``histograms.observations_quantile``), so
they must equal the rollups' exactly; a bucket is within 1.6% of the raw value.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.utils import timezone

from approvals.costs.attribution import JobNode, VariantNode, attribute
from approvals.costs.histograms import error_basis_points, observations_quantile
from approvals.costs.rollups import BREAKDOWNS
from approvals.costs.selectors.scope import CostScope
from approvals.publishing.models import Publication
from approvals.reviews.models import Decision, Review, ReviewStatus
from studio.generation.models import GenerationJob, JobStatus, Variant, VariantStatus
from studio.lib.pricing import pixel_class

ZERO = Decimal(0)
APPROVED = (VariantStatus.APPROVED, VariantStatus.PUBLISHED)


def _keys(job) -> dict:
    return {
        "model": job.deployment.profile.name,
        "deployment_id": job.deployment_id,
        "quality": str((job.params or {}).get("quality") or "auto")[:20],
        "size_class": pixel_class(job.planned_width, job.planned_height),
        "locale": job.locale,
        "route": job.route,
        "operation": job.operation,
    }


def _latency(job) -> int | None:
    if job.latency_ms:
        return job.latency_ms
    if job.started_at and job.finished_at:
        return max(0, int((job.finished_at - job.started_at).total_seconds() * 1000))
    return None


def recompute(scope: CostScope) -> dict:
    """Totals (``spend``, ``jobs``, ``generated``, ``waste``, ``approved``, ``published``,
    ``lineage_spend``, ``cached_jobs``), ``by_<dimension>`` (spend, jobs, generated, approved, lineage
    spend per line of every breakdown), ``by_campaign`` spend, ``outcomes``, ``hours_to_approval``
    (median, p90), ``latency`` (p50, p95 per deployment), ``estimate_error`` (median % overall and per
    class) and ``reviewers`` (decisions and median hours to decision per reviewer), for ``scope``."""
    jobs_qs = GenerationJob.objects.filter(
        workspace=scope.workspace, finished_at__isnull=False, actual_cost__isnull=False
    ).select_related("deployment__profile", "draft_version")
    if scope.campaign is not None:
        jobs_qs = jobs_qs.filter(campaign=scope.campaign)
    jobs = [j for j in jobs_qs if j.is_terminal]
    images = defaultdict(int)
    variants_by_draft = defaultdict(list)
    variant_job, status_of = {}, {}
    for v in Variant.objects.filter(job__in=jobs).values("pk", "job_id", "draft_id", "status"):
        images[v["job_id"]] += 1
        variant_job[v["pk"]] = v["job_id"]
        status_of[v["pk"]] = v["status"]
        variants_by_draft[v["draft_id"]].append(VariantNode(v["pk"], v["job_id"], v["status"] in APPROVED))
    approved_at: dict = {}
    for pk, closed in Review.objects.filter(
        variant_id__in=list(variant_job), status=ReviewStatus.APPROVED, closed_at__isnull=False
    ).values_list("variant_id", "closed_at"):
        approved_at[pk] = max(closed, approved_at.get(pk, closed))
    published_at: dict = {}
    for pk, created in Publication.objects.filter(variant_id__in=list(variant_job)).values_list(
        "variant_id", "created_at"
    ):
        published_at[pk] = min(created, published_at.get(pk, created))
    jobs_by_draft = defaultdict(list)
    for j in jobs:
        jobs_by_draft[j.draft_version.draft_id if j.draft_version_id else None].append(
            JobNode(j.pk, j.actual_cost, j.created_at, j.base_variant_id, j.rerun_of_id)
        )
    by_pk = {j.pk: j for j in jobs}
    now = timezone.now()

    def in_range(moment) -> bool:
        return moment is not None and scope.since <= timezone.localdate(moment) <= scope.until

    out = {
        "spend": ZERO,
        "jobs": 0,
        "generated": 0,
        "waste": ZERO,
        "approved": 0,
        "published": 0,
        "lineage_spend": ZERO,
        "cached_jobs": 0,
    }

    def line() -> dict:
        return {"spend": ZERO, "jobs": 0, "generated": 0, "approved": 0, "lineage_spend": ZERO}

    by = {name: defaultdict(line) for name in BREAKDOWNS}
    by_campaign: dict[int, Decimal] = defaultdict(lambda: ZERO)
    outcomes: dict[tuple[str, str], int] = defaultdict(int)
    seconds, latency, errors = [], defaultdict(list), defaultdict(list)

    for draft_id, nodes in jobs_by_draft.items():
        result = attribute(nodes, variants_by_draft.get(draft_id, []))
        for node in nodes:
            job = by_pk[node.pk]
            if not in_range(job.finished_at):
                continue
            out["spend"] += node.spend
            out["jobs"] += 1
            out["generated"] += images[node.pk]
            out["waste"] += node.spend - result.productive[node.pk]
            usage = job.usage or {}
            out["cached_jobs"] += 1 if (usage.get("cached_text_tokens") or usage.get("cached_image_tokens")) else 0
            by_campaign[job.campaign_id] += node.spend
            keys = _keys(job)
            for name, value in keys.items():
                entry = by[name][str(value)]
                entry["spend"] += node.spend
                entry["jobs"] += 1
                entry["generated"] += images[node.pk]
            if job.status != JobStatus.SUCCEEDED:
                outcomes[(job.status, (job.error_code or job.status)[:60])] += 1
                continue
            if (ms := _latency(job)) is not None:
                latency[job.deployment_id].append(ms)
            error = error_basis_points(job.estimated_cost, node.spend)
            if error is not None:
                errors[(keys["model"], keys["quality"], keys["size_class"])].append(error)
        for pk, lineage in result.assets.items():
            at = approved_at.get(pk) or published_at.get(pk) or now
            if not in_range(at):
                continue
            out["approved"] += 1
            out["lineage_spend"] += lineage.spend
            is_published = pk in published_at or status_of[pk] == VariantStatus.PUBLISHED
            out["published"] += 1 if is_published else 0
            first = lineage.first_generation_at or at
            seconds.append(max(0, int((at - first).total_seconds())))
            for name, value in _keys(by_pk[variant_job[pk]]).items():
                entry = by[name][str(value)]
                entry["approved"] += 1
                entry["lineage_spend"] += lineage.spend
    out.update({f"by_{name}": {k: dict(v) for k, v in values.items()} for name, values in by.items()})
    out["by_campaign"] = dict(by_campaign)
    out["outcomes"] = dict(outcomes)
    hours = [observations_quantile(seconds, q) for q in (0.5, 0.9)]
    out["hours_to_approval"] = tuple(None if h is None else round(h / 3600, 1) for h in hours)
    out["latency"] = {
        pk: (round(observations_quantile(v, 0.5)), round(observations_quantile(v, 0.95))) for pk, v in latency.items()
    }
    every_error = [e for values in errors.values() for e in values]
    median = observations_quantile(every_error, 0.5)
    out["estimate_error"] = {
        "median_pct": None if median is None else round(median / 100, 1),
        "observations": len(every_error),
        "by_class": {k: round(observations_quantile(v, 0.5) / 100, 1) for k, v in errors.items() if len(v) >= 3},
    }
    out["reviewers"] = _reviewers(scope, in_range)
    out["size_classes"] = sorted({pixel_class(j.planned_width, j.planned_height) for j in jobs})
    return out


def _reviewers(scope: CostScope, in_range) -> dict[int, tuple[int, float | None]]:
    """Decisions of the range per reviewer and their median hours from submission."""
    decisions = Decision.objects.filter(stage__review__workspace=scope.workspace)
    if scope.campaign is not None:
        decisions = decisions.filter(stage__review__variant__draft__campaign=scope.campaign)
    seconds = defaultdict(list)
    for reviewer, decided, submitted in decisions.values_list(
        "reviewer_id", "created_at", "stage__review__submitted_at"
    ):
        if in_range(decided):
            seconds[reviewer].append(max(0, int((decided - submitted).total_seconds())))
    return {pk: (len(v), round(observations_quantile(v, 0.5) / 3600, 1)) for pk, v in seconds.items()}
