"""Approval reads. Lookups take the user and answer 404 for missing and forbidden objects alike, so ids
cannot be probed across workspaces. List selectors use select_related/prefetch so a page costs the same
number of queries whether it shows 3 rows or 30."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from django.db import connection
from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from approvals.reviews.models import (
    Comment,
    Decision,
    DecisionOutcome,
    Review,
    ReviewStage,
    ReviewStatus,
    StageKind,
    StageStatus,
)
from studio.core.models import Membership, Notification, Workspace
from studio.core.permissions import (  # noqa: F401 - the role rules live in core; re-exported for old imports
    BRAND_DECIDERS,
    COMPLIANCE_DECIDERS,
    PUBLISHERS,
    STAGE_DECIDERS,
    SUBMITTERS,
    can_decide_kind,
    can_publish,
    can_submit,
)
from studio.generation.models import DraftVersion, GenerationJob, PromptDraft, Variant

# The jobs behind a variant, followed back through both ways work is derived from other work: an edit's
# parents (``Variant.parents``) and an exact re-run (``GenerationJob.rerun_of``). One recursive query,
# whatever the depth; UNION (not UNION ALL) drops jobs already reached, so it ends on any graph. The edges
# are one UNION ALL subquery so the recursive term names the CTE once (PostgreSQL's rule) and each step is
# an index lookup (job pk, variant.job_id, parents.from_variant_id) for the few rows reached. The start is
# read from the table, not a bare parameter, so both terms have the column's type (PostgreSQL: bigint).
_LINEAGE_JOBS_SQL = """
WITH RECURSIVE lineage(job_id) AS (
    SELECT start.id FROM {job} start WHERE start.id = %s
    UNION
    SELECT edge.parent_job FROM lineage
    JOIN (
        SELECT job.id AS child_job, job.rerun_of_id AS parent_job
        FROM {job} job WHERE job.rerun_of_id IS NOT NULL
        UNION ALL
        SELECT child.job_id AS child_job, parent.job_id AS parent_job
        FROM {variant} child
        JOIN {parents} link ON link.from_variant_id = child.id
        JOIN {variant} parent ON parent.id = link.to_variant_id
    ) edge ON edge.child_job = lineage.job_id
)
SELECT job_id FROM lineage
"""


def lineage_job_ids(*, variant: Variant) -> set[int]:
    """The job that made ``variant`` and every job its content came from: its parents' jobs (recursively)
    and the jobs each of those re-ran. One query."""
    sql = _LINEAGE_JOBS_SQL.format(
        job=connection.ops.quote_name(GenerationJob._meta.db_table),
        variant=connection.ops.quote_name(Variant._meta.db_table),
        parents=connection.ops.quote_name(Variant.parents.through._meta.db_table),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [variant.job_id])
        return {row[0] for row in cursor.fetchall()}


def lineage_creator_ids(*, variant: Variant) -> set[int]:
    """Everyone whose work ``variant`` is, none of whom may approve it (separation of duties).

    - who made it and every earlier version of it (all parents, recursively): an edit of your own image
      is still your own work;
    - who started each job in that lineage and each job it re-ran, and who made those jobs' images:
      "Re-run exactly" by a colleague must not launder your image into theirs;
    - the authors of the drafts behind it: who created each draft and who wrote any of its versions, since
      the prompt is the work too.

    Two queries whatever the depth: the jobs (one recursive query), then the people (one UNION)."""
    jobs = lineage_job_ids(variant=variant) | {variant.job_id}
    drafts = PromptDraft.objects.filter(
        Q(pk=variant.draft_id) | Q(pk__in=Variant.objects.filter(job_id__in=jobs).values("draft_id"))
    )
    # Each part unordered: a compound statement takes no ORDER BY (the models have default orderings).
    people = (
        GenerationJob.objects.filter(pk__in=jobs)
        .order_by()
        .values_list("created_by_id", flat=True)
        .union(
            Variant.objects.filter(job_id__in=jobs).order_by().values_list("created_by_id", flat=True),
            drafts.order_by().values_list("created_by_id", flat=True),
            DraftVersion.objects.filter(draft__in=drafts.order_by().values("pk"))
            .order_by()
            .values_list("created_by_id", flat=True),
        )
    )
    return {variant.created_by_id, *people}


def approved_review_for(*, variant: Variant) -> Review | None:
    """The latest approved (non-override) review of ``variant``: what publishing is checked against."""
    return (
        Review.objects.filter(variant=variant, status=ReviewStatus.APPROVED, is_override=False)
        .order_by("-closed_at", "-pk")
        .first()
    )


def approving_decisions(*, review: Review) -> list[Decision]:
    """Who approved ``review``, stage by stage (the publish page says whose approval it publishes under)."""
    approving = (DecisionOutcome.APPROVE, DecisionOutcome.APPROVE_WITH_CHANGES)
    return list(
        Decision.objects.filter(stage__review=review, outcome__in=approving)
        .select_related("reviewer", "stage")
        .order_by("stage__order", "created_at")
    )


class ReviewQueue(Sequence[ReviewStage]):
    """The queue as a paginator reads it: one narrow query for the ordered ids of every matching stage
    (which is also the count), then the full rows, with everything a row shows, for one page only.

    Why not a plain queryset: at scale (100k reviews) PostgreSQL cannot tell that pending stages belong to
    open reviews, underestimates the matches ~50x, and so joins every candidate with its variant, job,
    draft and format before sorting to keep 25. Ids first keeps the wide joins to the rows shown."""

    def __init__(self, candidates: QuerySet[ReviewStage]) -> None:
        self.candidates = candidates
        self._ids: list[int] | None = None

    @property
    def ids(self) -> list[int]:
        if self._ids is None:
            self._ids = list(self.candidates.values_list("pk", flat=True))
        return self._ids

    def count(self) -> int:
        return len(self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self, ids: list[int]) -> list[ReviewStage]:
        if not ids:
            return []
        found = (
            ReviewStage.objects.select_related(
                "review__workspace",
                "review__submitted_by",
                "review__variant__draft__campaign",
                "review__variant__job__target_format",
            )
            # A row shows none of these JSON blobs; decoding them was a visible share of the page's time.
            .defer(
                "review__workspace__style_guide",
                "review__workspace__default_locales",
                "review__workspace__safety_screeners",
                "review__workspace__blocklist_terms",
                "review__workspace__safety_policy",
                "review__variant__filter_results",
                "review__variant__job__params",
                "review__variant__job__usage",
                "review__variant__job__plan_notes",
                "review__variant__job__prompt",
                "review__variant__job__reference_uploads",
                "review__variant__job__safety_categories",
                "review__variant__draft__campaign__locales",
            )
            .in_bulk(ids)
        )
        for stage in found.values():
            stage.review.variant.workspace = stage.review.workspace  # same row: thumbnail URLs need its slug
        return [found[pk] for pk in ids if pk in found]

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return self.rows(self.ids[index])
        return self.rows([self.ids[index]])[0]

    def __iter__(self):
        return iter(self.rows(self.ids))


# Severity bands on the 0-7 scale every screener's result is mapped to (Azure's eight levels).
RISK_LEVELS = {"low": (0, 1), "medium": (2, 3), "high": (4, 7)}


def review_queue(*, user, filters: Mapping[str, Any] | None = None) -> ReviewQueue:
    """Open stages ``user`` can act on across their workspaces, soonest due first.

    Excludes stages the user may not decide anyway: their own submissions or images, and reviews where
    they already decided a stage (separation of duties).

    Written for a long history: pending stages are a small slice found through a partial index
    (``stage_pending_due``); "already decided here" is a correlated NOT EXISTS checked for those candidates
    only, through the (stage, reviewer) unique index. ``NOT IN (every decision of mine)`` made PostgreSQL
    hash every decision the reviewer ever made and scan every stage on each page view."""
    filters = filters or {}
    memberships = Membership.objects.filter(user=user)
    brand_ws = memberships.filter(role__in=BRAND_DECIDERS).values("workspace")
    compliance_ws = memberships.filter(role__in=COMPLIANCE_DECIDERS).values("workspace")
    decided_here = Decision.objects.filter(reviewer=user, stage__review_id=OuterRef("review_id"))
    qs = (
        ReviewStage.objects.filter(status=StageStatus.PENDING, review__status=ReviewStatus.OPEN)
        .filter(
            Q(kind=StageKind.BRAND, review__workspace__in=brand_ws)
            | Q(kind=StageKind.COMPLIANCE, review__workspace__in=compliance_ws)
        )
        # As an uncorrelated subquery (hashed once) rather than a join to every candidate's variant.
        .exclude(review__variant_id__in=Variant.objects.filter(created_by=user).values("pk"))
        .exclude(review__submitted_by=user)
        .exclude(Exists(decided_here))
    )
    if filters.get("workspace"):
        qs = qs.filter(review__workspace__slug=filters["workspace"])
    if filters.get("campaign"):
        qs = qs.filter(review__variant__draft__campaign_id=filters["campaign"])
    if filters.get("locale"):
        qs = qs.filter(review__variant__locale=filters["locale"])
    if filters.get("format"):
        qs = qs.filter(review__variant__job__target_format_id=filters["format"])
    if filters.get("verdict"):
        qs = qs.filter(review__safety_verdict=filters["verdict"])
    if filters.get("risk") in RISK_LEVELS:
        low, high = RISK_LEVELS[filters["risk"]]
        qs = qs.filter(review__variant__safety_severity__gte=low, review__variant__safety_severity__lte=high)
    if filters.get("overdue"):
        qs = qs.filter(due_at__lt=timezone.now())
    if filters.get("mine"):
        qs = qs.filter(assignees=user)
    return ReviewQueue(qs.order_by(F("due_at").asc(nulls_last=True), "pk"))


def _review_qs() -> QuerySet[Review]:
    stages = ReviewStage.objects.order_by("order").prefetch_related(
        Prefetch("decisions", queryset=Decision.objects.select_related("reviewer").order_by("created_at", "pk")),
        "assignees",
    )
    return Review.objects.select_related(
        "workspace",
        "submitted_by",
        "variant__created_by",
        "variant__draft__campaign",
        "variant__job__target_format",
        "variant__job__deployment",
    ).prefetch_related(Prefetch("stages", queryset=stages))


def _visible(user, workspace: Workspace | None) -> Q:
    """Rows of ``workspace`` if given, always limited to workspaces ``user`` is a member of."""
    members = Q(workspace__in=Membership.objects.filter(user=user).values("workspace"))
    return members & Q(workspace=workspace) if workspace is not None else members


def review_for_user(*, user, pk: int, workspace: Workspace | None = None) -> Review:
    """One review with everything its page shows; 404 if missing, in another workspace than
    ``workspace``, or in a workspace the user is not in. ``workspace=None`` looks across the user's
    workspaces (the old URLs without a workspace redirect through it)."""
    review = _review_qs().filter(_visible(user, workspace), pk=pk).first()
    if review is None:
        raise Http404("No such review")
    return review


def variant_for_user(*, user, pk: int, workspace: Workspace | None = None) -> Variant:
    variant = (
        Variant.objects.select_related("workspace", "draft__campaign", "created_by")
        .filter(_visible(user, workspace), pk=pk)
        .first()
    )
    if variant is None:
        raise Http404("No such image")
    return variant


def comment_for_user(*, user, pk: int, workspace: Workspace | None = None) -> Comment:
    members = Q(variant__workspace__in=Membership.objects.filter(user=user).values("workspace"))
    if workspace is not None:
        members &= Q(variant__workspace=workspace)
    comment = Comment.objects.select_related("variant__workspace", "author").filter(members, pk=pk).first()
    if comment is None:
        raise Http404("No such comment")
    return comment


def stage_for_review(*, review: Review, pk: int) -> ReviewStage:
    """A stage of ``review`` (already visible to the user), else 404."""
    stage = ReviewStage.objects.filter(pk=pk, review=review).first()
    if stage is None:
        raise Http404("No such review stage")
    return stage


def review_stages_for_user(*, user, pks: Sequence[int], workspace: Workspace | None = None) -> dict[int, ReviewStage]:
    """Stages by id among ``pks`` that ``user`` can see (for bulk approval); others are left out."""
    qs = ReviewStage.objects.filter(
        pk__in=list(pks), review__workspace__in=Membership.objects.filter(user=user).values("workspace")
    )
    if workspace is not None:
        qs = qs.filter(review__workspace=workspace)
    return {s.pk: s for s in qs.select_related("review__workspace", "review__variant__draft")}


def latest_review_for(*, variant: Variant, pk: int | None = None) -> Review | None:
    """The review ``pk`` of ``variant`` if it is one, else the variant's latest review."""
    if pk is not None:
        review = Review.objects.filter(pk=pk, variant=variant).select_related("workspace").first()
        if review is not None:
            return review
    return variant.reviews.select_related("workspace").order_by("-submitted_at", "-pk").first()


def comments_for(*, variant: Variant) -> list[Comment]:
    """Top-level comments with their replies, oldest first (a conversation reads top to bottom)."""
    replies = Comment.objects.select_related("author").order_by("created_at", "pk")
    return list(
        Comment.objects.filter(variant=variant, parent__isnull=True)
        .select_related("author")
        .prefetch_related(Prefetch("replies", queryset=replies))
        .order_by("created_at", "pk")
    )


def notifications_for(*, user) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user).select_related("workspace").order_by("-created_at", "-pk")


def overdue_stages(*, now) -> QuerySet[ReviewStage]:
    """Pending stages past their due date that have not had a reminder yet."""
    return ReviewStage.objects.filter(
        status=StageStatus.PENDING, review__status=ReviewStatus.OPEN, due_at__lt=now, reminded_at__isnull=True
    ).order_by("pk")


def stages_to_escalate(*, now) -> list[ReviewStage]:
    """Pending stages open for twice the workspace's SLA (due date + one more SLA), not yet escalated."""
    candidates = (
        ReviewStage.objects.filter(
            status=StageStatus.PENDING, review__status=ReviewStatus.OPEN, due_at__lt=now, escalated_at__isnull=True
        )
        .select_related("review__workspace")
        .order_by("pk")
    )
    return [s for s in candidates if s.due_at + timedelta(hours=s.review.workspace.review_sla_hours) <= now]
