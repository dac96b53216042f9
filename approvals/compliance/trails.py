"""The full decision trail of one asset: every version it came from, with what was asked for, what the
safety checks said, who decided what, what was published, and every audit event about any of it.

Readable by compliance auditors and workspace admins of the asset's workspace
(``studio.core.permissions.can_read_audit``); a variant of a workspace the user does not belong to
answers 404 (no id probing), members without the ability get ``RoleRequired``. It costs about a dozen
queries however long the lineage is.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Prefetch, Q
from django.http import Http404

from approvals.compliance.log import LogEntry, log_entries
from approvals.compliance.subjects import subject_info
from approvals.publishing.models import Publication
from approvals.reviews.models import Comment, Decision, Review, ReviewStage
from studio.core.models import AuditEvent, Workspace
from studio.core.permissions import RoleRequired, can_read_audit, is_member
from studio.generation.models import GenerationJob, Variant
from studio.safety.models import SafetyAssessment


def require_audit_reader(user, workspace: Workspace) -> None:
    """``RoleRequired`` unless ``user`` may read ``workspace``'s audit history."""
    if not can_read_audit(user, workspace):
        raise RoleRequired(
            f"Only a compliance auditor or a workspace admin can see the audit history of {workspace.name}."
        )


@dataclass
class TrailReview:
    review: Review
    stages: list[ReviewStage]


@dataclass
class TrailVersion:
    """One image in the lineage with everything decided about it."""

    variant: Variant
    job: GenerationJob
    parent_ids: list[int]
    assessments: list[SafetyAssessment] = field(default_factory=list)
    reviews: list[TrailReview] = field(default_factory=list)
    publications: list[Publication] = field(default_factory=list)

    @property
    def size_matches_plan(self) -> bool:
        return (self.variant.width, self.variant.height) == (self.job.planned_width, self.job.planned_height)

    @property
    def cost_difference(self) -> Decimal | None:
        if self.job.actual_cost is None:
            return None
        return self.job.actual_cost - self.job.estimated_cost


@dataclass
class AssetTrail:
    workspace: Workspace
    variant: Variant
    versions: list[TrailVersion]  # root first, the asked-for variant last
    events: list[AuditEvent]  # every audit event about any object of the trail, by sequence

    @property
    def entries(self) -> list[LogEntry]:
        """The events as the log reads them (sentence, subject link, details); no query."""
        return log_entries(self.events)

    @property
    def current(self) -> TrailVersion:
        return self.versions[-1]

    @property
    def job_assessments(self) -> list[SafetyAssessment]:
        return [a for v in self.versions for a in v.assessments if a.variant_id is None]


def _ancestor_ids(variant_id: int) -> list[int]:
    """The variant and all its ancestors (every parent, up to the roots), in one recursive query."""
    through = Variant.parents.through._meta
    table = connection.ops.quote_name(through.db_table)
    sql = (
        f"WITH RECURSIVE lineage(id) AS (SELECT CAST(%s AS BIGINT) UNION "  # noqa: S608 - table name from model metadata
        f"SELECT t.to_variant_id FROM {table} t JOIN lineage l ON t.from_variant_id = l.id) "
        f"SELECT id FROM lineage"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [variant_id])
        return [row[0] for row in cursor.fetchall()]


def trail_variant_for_user(*, user, variant_id: int, workspace: Workspace | None = None) -> Variant:
    """The variant a trail is about: 404 unless it exists in a workspace ``user`` belongs to (and in
    ``workspace`` when given), so ids cannot be probed across workspaces."""
    variant = Variant.objects.select_related("workspace").filter(pk=variant_id).first()
    if variant is None or not is_member(user, variant.workspace):
        raise Http404("No such variant")
    if workspace is not None and variant.workspace_id != workspace.pk:
        raise Http404("No such variant")
    return variant


def asset_trail(*, user, variant_id: int, workspace: Workspace | None = None) -> AssetTrail:
    """Everything that happened to one asset and the versions it came from, in about a dozen queries."""
    variant = trail_variant_for_user(user=user, variant_id=variant_id, workspace=workspace)
    workspace = variant.workspace
    require_audit_reader(user, workspace)

    ids = _ancestor_ids(variant.pk)
    variants = {
        v.pk: v
        for v in Variant.objects.filter(pk__in=ids, workspace=workspace).select_related(
            "job__deployment",
            "job__target_format",
            "job__draft_version",
            "job__created_by",
            "created_by",
            "draft__campaign",
        )
    }
    variants[variant.pk] = variants.get(variant.pk, variant)
    parent_links: dict[int, list[int]] = defaultdict(list)
    for child_id, parent_id in (
        Variant.parents.through.objects.filter(from_variant_id__in=variants.keys())
        .order_by("to_variant_id")
        .values_list("from_variant_id", "to_variant_id")
    ):
        if parent_id in variants:
            parent_links[child_id].append(parent_id)

    ordered = sorted(variants.values(), key=lambda v: (v.created_at, v.pk))
    ordered.sort(key=lambda v: v.pk == variant.pk)  # the asked-for version always last
    versions = {v.pk: TrailVersion(variant=v, job=v.job, parent_ids=parent_links.get(v.pk, [])) for v in ordered}
    job_ids = {v.job_id for v in ordered}
    first_version_of_job: dict[int, TrailVersion] = {}
    for version in versions.values():
        first_version_of_job.setdefault(version.job.pk, version)

    assessments = SafetyAssessment.objects.filter(
        Q(variant_id__in=versions.keys()) | Q(job_id__in=job_ids, variant__isnull=True), workspace=workspace
    ).order_by("created_at", "pk")
    for assessment in assessments:
        target = versions.get(assessment.variant_id) or first_version_of_job.get(assessment.job_id)
        if target is not None:
            target.assessments.append(assessment)

    reviews = (
        Review.objects.filter(variant_id__in=versions.keys(), workspace=workspace)
        .select_related("submitted_by")
        .prefetch_related(
            Prefetch(
                "stages",
                queryset=ReviewStage.objects.order_by("order").prefetch_related(
                    Prefetch("decisions", queryset=Decision.objects.select_related("reviewer").order_by("created_at"))
                ),
            )
        )
        .order_by("submitted_at", "pk")
    )
    stage_ids: list[int] = []
    decision_ids: list[int] = []
    for review in reviews:
        stages = list(review.stages.all())
        stage_ids += [s.pk for s in stages]
        decision_ids += [d.pk for s in stages for d in s.decisions.all()]
        versions[review.variant_id].reviews.append(TrailReview(review=review, stages=stages))

    publications = (
        Publication.objects.filter(variant_id__in=versions.keys(), workspace=workspace)
        .select_related("target_format", "published_by")
        .order_by("created_at", "pk")
    )
    for publication in publications:
        versions[publication.variant_id].publications.append(publication)

    subjects: dict[str, list[Any]] = {
        "studio.variant": list(versions.keys()),
        "studio.generationjob": list(job_ids),
        "studio.promptdraft": list({v.draft_id for v in ordered}),
        "approvals.safetyassessment": [a.pk for v in versions.values() for a in v.assessments],
        "approvals.review": [r.review.pk for v in versions.values() for r in v.reviews],
        "approvals.reviewstage": stage_ids,
        "approvals.decision": decision_ids,
        "approvals.publication": [p.pk for v in versions.values() for p in v.publications],
        "approvals.comment": list(Comment.objects.filter(variant_id__in=versions.keys()).values_list("pk", flat=True)),
    }
    condition = Q()
    for subject_type, pks in subjects.items():
        if pks:
            condition |= Q(subject_type=subject_type, subject_id__in=[str(pk) for pk in pks])
    events = list(
        AuditEvent.objects.filter(condition, workspace=workspace)
        .select_related("workspace")
        .annotate(subject_info=subject_info())
        .order_by("seq")
    )
    return AssetTrail(
        workspace=workspace, variant=versions[variant.pk].variant, versions=list(versions.values()), events=events
    )


def _user(user) -> str | None:
    return user.get_username() if user is not None else None


def _when(value) -> str | None:
    return value.isoformat() if value is not None else None


def _money(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


def _assessment_json(a: SafetyAssessment) -> dict[str, Any]:
    return {
        "id": a.pk,
        "job": a.job_id,
        "variant": a.variant_id,
        "stage": a.stage,
        "screener": a.screener,
        "status": a.status,
        "verdict": a.verdict,
        "categories": a.categories,
        "matches": a.matches,
        "decided_by": a.decided_by,
        "explanation": a.explanation,
        "screened_text": a.screened_text,
        "error": a.error,
        "attempts": a.attempts,
        "created_at": _when(a.created_at),
    }


def _review_json(item: TrailReview) -> dict[str, Any]:
    r = item.review
    return {
        "id": r.pk,
        "status": r.status,
        "variant_sha256": r.variant_sha256,
        "safety_verdict": r.safety_verdict,
        "is_override": r.is_override,
        "override_reason": r.override_reason,
        "submitted_by": _user(r.submitted_by),
        "submitted_at": _when(r.submitted_at),
        "closed_at": _when(r.closed_at),
        "stages": [
            {
                "id": s.pk,
                "kind": s.kind,
                "order": s.order,
                "status": s.status,
                "rule": s.rule,
                "due_at": _when(s.due_at),
                "decided_at": _when(s.decided_at),
                "decisions": [
                    {
                        "id": d.pk,
                        "outcome": d.outcome,
                        "reason": d.note,
                        "reviewer": _user(d.reviewer),
                        "variant_sha256": d.variant_sha256,
                        "at": _when(d.created_at),
                    }
                    for d in s.decisions.all()
                ],
            }
            for s in item.stages
        ],
    }


def _version_json(version: TrailVersion) -> dict[str, Any]:
    v, job = version.variant, version.job
    return {
        "variant": v.pk,
        "parents": version.parent_ids,
        "operation": v.operation,
        "locale": v.locale,
        "created_by": _user(v.created_by),
        "created_at": _when(v.created_at),
        "image": v.image.name,
        "sha256": v.sha256,
        "format": v.format,
        "status": v.status,
        "safety_verdict": v.safety_verdict,
        "real_size": v.size,
        "size_mismatch": v.size_mismatch,
        "filter_results": v.filter_results,
        "job": {
            "id": job.pk,
            "operation": job.operation,
            "status": job.status,
            "prompt": job.prompt,
            "instruction": job.instruction,
            "params": job.params,
            "n": job.n,
            "deployment": job.deployment.name,
            "provider": job.deployment.provider,
            "model": job.deployment.model,
            "target_size": job.target_size,
            "target_format": job.target_format.name if job.target_format else None,
            "planned_size": job.planned_size,
            "plan_notes": job.plan_notes,
            "route": job.route,
            "estimated_cost": _money(job.estimated_cost),
            "estimate_basis": job.estimate_basis,
            "actual_cost": _money(job.actual_cost),
            "usage": job.usage,
            "provider_request_id": job.provider_request_id,
            "created_by": _user(job.created_by),
            "created_at": _when(job.created_at),
            "finished_at": _when(job.finished_at),
        },
        "safety_assessments": [_assessment_json(a) for a in version.assessments],
        "reviews": [_review_json(r) for r in version.reviews],
        "publications": [
            {
                "id": p.pk,
                "size": f"{p.width}x{p.height}",
                "format": p.file_format,
                "file": p.file.name,
                "sha256": p.sha256,
                "source_sha256": p.source_sha256,
                "status": p.status,
                "target_format": p.target_format.name if p.target_format else None,
                "published_by": _user(p.published_by),
                "at": _when(p.created_at),
            }
            for p in version.publications
        ],
    }


def _event_json(entry: LogEntry) -> dict[str, Any]:
    e = entry.event
    return {
        "seq": e.seq,
        "action": e.action,
        "actor": e.actor_label,
        "subject_type": e.subject_type,
        "subject_id": e.subject_id,
        "data": e.data,
        "created_at": _when(e.created_at),
        "prev_hash": e.prev_hash,
        "hash": e.hash,
        "sentence": entry.sentence,
    }


def asset_trail_json(trail: AssetTrail) -> dict[str, Any]:
    """The trail as plain JSON types: what trail.json in the audit pack and the JSON download contain."""
    return {
        "workspace": trail.workspace.slug,
        "variant": trail.variant.pk,
        "lineage": [_version_json(v) for v in trail.versions],
        "audit_events": [_event_json(entry) for entry in trail.entries],
    }
