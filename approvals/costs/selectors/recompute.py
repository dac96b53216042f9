"""The cost numbers recomputed straight from the source tables (jobs, variants, reviews), without the
rollups: what the tests and ``cost_report --verify`` compare the rollups against. Reads every job of the
scope, so it is for checking, never for pages."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.utils import timezone

from approvals.costs.attribution import JobNode, VariantNode, attribute
from approvals.costs.selectors.scope import CostScope
from approvals.reviews.models import Review, ReviewStatus
from studio.generation.models import GenerationJob, Variant, VariantStatus
from studio.lib.pricing import pixel_class

ZERO = Decimal(0)
APPROVED = (VariantStatus.APPROVED, VariantStatus.PUBLISHED)


def recompute(scope: CostScope) -> dict:
    """``spend``, ``jobs``, ``generated``, ``waste``, ``approved``, ``lineage_spend`` and spend/approved per
    model, quality and operation, for ``scope``."""
    jobs_qs = GenerationJob.objects.filter(
        workspace=scope.workspace, finished_at__isnull=False, actual_cost__isnull=False
    ).select_related("deployment__profile", "draft_version")
    if scope.campaign is not None:
        jobs_qs = jobs_qs.filter(campaign=scope.campaign)
    jobs = list(jobs_qs)
    images = defaultdict(int)
    variants_by_draft = defaultdict(list)
    variant_job = {}
    for v in Variant.objects.filter(job__in=jobs).values("pk", "job_id", "draft_id", "status"):
        images[v["job_id"]] += 1
        variant_job[v["pk"]] = v["job_id"]
        variants_by_draft[v["draft_id"]].append(VariantNode(v["pk"], v["job_id"], v["status"] in APPROVED))
    approved_at = dict(
        Review.objects.filter(variant_id__in=list(variant_job), status=ReviewStatus.APPROVED).values_list(
            "variant_id", "closed_at"
        )
    )
    jobs_by_draft = defaultdict(list)
    for j in jobs:
        jobs_by_draft[j.draft_version.draft_id if j.draft_version_id else None].append(
            JobNode(j.pk, j.actual_cost, j.created_at, j.base_variant_id, j.rerun_of_id)
        )
    by_pk = {j.pk: j for j in jobs}

    def in_range(moment) -> bool:
        return moment is not None and scope.since <= timezone.localdate(moment) <= scope.until

    out = {"spend": ZERO, "jobs": 0, "generated": 0, "waste": ZERO, "approved": 0, "lineage_spend": ZERO}
    by = {name: defaultdict(lambda: {"spend": ZERO, "approved": 0}) for name in ("model", "quality", "operation")}

    def keys(job) -> dict:
        return {
            "model": job.deployment.profile.name,
            "quality": str((job.params or {}).get("quality") or "auto"),
            "operation": job.operation,
        }

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
            for name, value in keys(job).items():
                by[name][value]["spend"] += node.spend
        for pk, lineage in result.assets.items():
            if not in_range(approved_at.get(pk) or timezone.now()):
                continue
            out["approved"] += 1
            out["lineage_spend"] += lineage.spend
            for name, value in keys(by_pk[variant_job[pk]]).items():
                by[name][value]["approved"] += 1
    out.update({f"by_{name}": {k: dict(v) for k, v in values.items()} for name, values in by.items()})
    out["size_classes"] = sorted({pixel_class(j.planned_width, j.planned_height) for j in jobs})
    return out
