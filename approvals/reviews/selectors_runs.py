"""Reads for reviewing a production run: the run (workspace-walled), its cells as a grid of formats x
locales with each cell's expected in-image copy and its images' review state, filtered by state and
safety verdict.

A page costs a fixed number of queries however many cells it shows: the cells (with format and job) in
one query, then one narrow value query each for their images, the images' open reviews and those
reviews' pending stages. Filters are ``EXISTS`` subqueries on the images of a cell's job
(``variant.job_id`` is indexed), so the paginator's count and the page stay two narrow queries at 1,000
cells."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.urls import reverse

from approvals.reviews.models import Review, ReviewStage, ReviewStatus, StageKind, StageStatus
from studio.core.models import Workspace
from studio.core.permissions import can_decide_stage
from studio.generation.models import Variant, VariantStatus
from studio.runs.models import ProductionRun, RunCell
from studio.safety.models import SafetyVerdict

# The review states a reviewer filters a run by (what the images of a cell are waiting for).
STATE_FILTERS: dict[str, tuple[str, Q]] = {
    "awaiting": ("Waiting for a decision", Q(status=VariantStatus.IN_REVIEW)),
    "not_submitted": ("Not submitted yet", Q(status__in=[VariantStatus.READY, VariantStatus.SAFETY_PENDING])),
    "approved": ("Approved or published", Q(status__in=[VariantStatus.APPROVED, VariantStatus.PUBLISHED])),
    "changes_requested": ("Changes requested", Q(status=VariantStatus.CHANGES_REQUESTED)),
    "rejected": ("Rejected", Q(status=VariantStatus.REJECTED)),
    "blocked": ("Blocked by safety", Q(status=VariantStatus.BLOCKED)),
}
NO_IMAGE = "no_image"  # cells with no image (queued, running, failed, cancelled)
VERDICT_FILTERS = {v: label for v, label in SafetyVerdict.choices}


def run_for_user(*, user, workspace: Workspace, pk: int) -> ProductionRun:
    """One run of ``workspace`` (the caller already checked the user is a member); 404 otherwise."""
    run = (
        ProductionRun.objects.select_related(
            "workspace", "campaign", "source_version", "master__job__draft_version", "deployment", "created_by"
        )
        .filter(workspace=workspace, pk=pk)
        .first()
    )
    if run is None:
        raise Http404("No such run")
    return run


def runs_for_review(*, workspace: Workspace) -> QuerySet[ProductionRun]:
    return ProductionRun.objects.filter(workspace=workspace).select_related("campaign").order_by("-created_at", "-pk")


def run_locale_copy(run: ProductionRun) -> dict[str, str]:
    """The in-image copy each locale's cell is expected to carry: the run's draft version, or the draft
    version the master was made from."""
    version = run.source_version
    if version is None and run.master is not None:
        version = run.master.job.draft_version
    copy = (version.locale_copy if version is not None else None) or {}
    return {str(locale): str(text) for locale, text in copy.items()}


def _variant_filter(filters: Mapping[str, Any]) -> Q | None:
    q = Q()
    state = filters.get("state")
    if state in STATE_FILTERS:
        q &= STATE_FILTERS[state][1]
    if filters.get("verdict") in VERDICT_FILTERS:
        q &= Q(safety_verdict=filters["verdict"])
    return q if q.children else None


def run_review_cells(*, run: ProductionRun, filters: Mapping[str, Any] | None = None) -> QuerySet[RunCell]:
    """The run's cells matching ``filters``, format then locale (narrow rows: the grid reads the images
    of one page of them with ``run_grid``)."""
    filters = filters or {}
    cells = (
        RunCell.objects.filter(run=run)
        .select_related("target_format")
        .only(
            "pk",
            "run_id",
            "locale",
            "status",
            "job_id",
            "error",
            "target_format__name",
            "target_format__width",
            "target_format__height",
        )
    )
    if filters.get("format"):
        cells = cells.filter(target_format_id=filters["format"])
    if filters.get("locale"):
        cells = cells.filter(locale=filters["locale"])
    if filters.get("state") == NO_IMAGE:
        cells = cells.exclude(Exists(Variant.objects.filter(job_id=OuterRef("job_id"))))
    else:
        matching = _variant_filter(filters)
        if matching is not None:
            cells = cells.filter(Exists(Variant.objects.filter(matching, job_id=OuterRef("job_id"))))
    return cells.order_by("locale", "target_format__name", "target_format_id", "pk")


@dataclass(frozen=True)
class GridImage:
    """What the grid reads of an image, its open review and that review's pending stage: plain values from
    three narrow queries (model instances with their JSON and state machinery were most of the page's
    time at 50 cells). Every decision re-reads and checks the rows under its own locks."""

    pk: int
    job_id: int
    status: str
    safety_verdict: str
    sha256: str
    created_by_id: int | None


@dataclass(frozen=True)
class GridReview:
    pk: int
    submitted_by_id: int | None


@dataclass(frozen=True)
class GridStage:
    kind: str

    def get_kind_display(self) -> str:
        return _STAGE_LABELS.get(self.kind, self.kind)


def _page_images(
    cells: list[RunCell], filters: Mapping[str, Any]
) -> dict[int, list[tuple[GridImage, GridReview | None, GridStage | None]]]:
    """The images of these cells' jobs (matching the filters), each with its open review and that review's
    first pending stage, by job: three queries for any number of cells."""
    job_ids = [cell.job_id for cell in cells if cell.job_id]
    if not job_ids:
        return {}
    images = Variant.objects.filter(job_id__in=job_ids).order_by("job_id", "index", "pk")
    matching = _variant_filter(filters)
    if matching is not None:
        images = images.filter(matching)
    found = [
        GridImage(*row)
        for row in images.values_list("pk", "job_id", "status", "safety_verdict", "sha256", "created_by_id")
    ]
    reviews = {
        variant_id: GridReview(pk, submitted_by)
        for variant_id, pk, submitted_by in Review.objects.filter(
            variant_id__in=[image.pk for image in found], status=ReviewStatus.OPEN
        ).values_list("variant_id", "pk", "submitted_by_id")
    }
    stages: dict[int, GridStage] = {}
    pending = ReviewStage.objects.filter(
        review_id__in=[r.pk for r in reviews.values()], status=StageStatus.PENDING
    ).order_by("order", "pk")
    for review_id, kind in pending.values_list("review_id", "kind"):
        stages.setdefault(review_id, GridStage(kind))
    by_job: dict[int, list[tuple[GridImage, GridReview | None, GridStage | None]]] = {}
    for image in found:
        review = reviews.get(image.pk)
        by_job.setdefault(image.job_id, []).append((image, review, stages.get(review.pk) if review else None))
    return by_job


_SENTINEL_ID = 987654321987654  # reversed once per page, then substituted: 100 images cost no reverse() each


def _url_maker(name: str, slug: str):
    pattern = reverse(name, args=[slug, _SENTINEL_ID])
    return lambda pk: pattern.replace(str(_SENTINEL_ID), str(pk))


@dataclass
class RunImage:
    """One image of a cell as the grid shows it (labels computed once, not per template lookup)."""

    variant: GridImage
    review: GridReview | None
    stage: GridStage | None
    decidable: bool  # the user holds the pending stage's role and did not make or submit the image
    own_work: bool
    thumbnail_url: str
    open_url: str  # its review if it has an open one, else its studio page
    state_label: str
    verdict_label: str
    # What the grid square writes, joined here once per image (at 50 cells a page the template's dotted
    # lookups per image were most of its rendering time).
    item_value: str = ""  # "<id>:<sha256>", the bulk form's checkbox value (version binding)
    alt: str = ""
    select_label: str = ""


@dataclass
class RunGridCell:
    cell: RunCell
    status_label: str
    images: list[RunImage] = field(default_factory=list)


@dataclass
class RunGridRow:
    """One locale: its expected in-image copy and its cell in each of the page's formats."""

    locale: str
    copy: str
    cells: list[RunGridCell | None]


_STATUS_LABELS = dict(VariantStatus.choices)
_STAGE_LABELS = dict(StageKind.choices)
_VERDICT_LABELS = dict(SafetyVerdict.choices)


def run_grid(
    *, user, run: ProductionRun, cells: list[RunCell], filters: Mapping[str, Any] | None = None
) -> tuple[list[Any], list[RunGridRow]]:
    """Lay one page of cells out as rows (locales, each with its expected copy) x columns (the page's
    formats), with their images. Three queries (images, open reviews, pending stages); roles are cached
    on the user. Locales go down because a run has few formats and many locales."""
    filters = filters or {}
    copy = run_locale_copy(run)
    images_by_job = {} if filters.get("state") == NO_IMAGE else _page_images(cells, filters)
    slug = run.workspace.slug
    thumbnail_url = _url_maker("studio:variant_thumbnail", slug)
    variant_url = _url_maker("studio:variant", slug)
    review_url = _url_maker("approvals:review_detail", slug)
    deciders = {kind: can_decide_stage(user, run.workspace, kind) for kind in ("brand", "compliance")}
    formats: dict[int, Any] = {}
    for cell in cells:
        formats.setdefault(cell.target_format_id, cell.target_format)
    columns = sorted(formats.values(), key=lambda fmt: (fmt.name, fmt.pk))
    column = {fmt.pk: i for i, fmt in enumerate(columns)}
    rows: dict[str, RunGridRow] = {}
    for cell in cells:
        row = rows.get(cell.locale)
        if row is None:
            row = RunGridRow(locale=cell.locale, copy=copy.get(cell.locale, ""), cells=[None] * len(columns))
            rows[cell.locale] = row
        grid_cell = RunGridCell(cell=cell, status_label=cell.get_status_display())
        where = f"{cell.target_format.name}, {cell.locale}"
        for variant, review, stage in images_by_job.get(cell.job_id, []):
            own = user.pk in (variant.created_by_id, review.submitted_by_id if review else None)
            grid_cell.images.append(
                RunImage(
                    variant=variant,
                    review=review,
                    stage=stage,
                    decidable=bool(stage) and not own and deciders.get(stage.kind, False),
                    own_work=own,
                    thumbnail_url=thumbnail_url(variant.pk),
                    open_url=review_url(review.pk) if review else variant_url(variant.pk),
                    state_label=f"{stage.get_kind_display()} pending"
                    if stage is not None
                    else _STATUS_LABELS.get(variant.status, variant.status),
                    verdict_label=_VERDICT_LABELS.get(variant.safety_verdict, variant.safety_verdict),
                    item_value=f"{variant.pk}:{variant.sha256}",
                    alt=f"Image #{variant.pk}, {where}",
                    select_label=f"Select image #{variant.pk} ({where})",
                )
            )
        row.cells[column[cell.target_format_id]] = grid_cell
    return columns, sorted(rows.values(), key=lambda r: r.locale)
