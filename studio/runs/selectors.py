"""Production runs reads: a run, its progress in one aggregate, its grid, a campaign's runs.

Every lookup is scoped to a workspace and answers 404 for missing and forbidden alike. Query counts are
constant in the number of cells: progress is one aggregate, a page of the grid two narrow value queries
(cells with their formats, then their jobs' variants), and a live poll the same two for changed cells.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, DecimalField, Max, Min, Prefetch, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator

from studio.core.models import Workspace
from studio.core.money import money_text as money
from studio.generation.models import Campaign, Variant
from studio.runs.models import CellStatus, ProductionRun, RunCell

ACTIVE_CELL_STATUSES = (CellStatus.QUEUED, CellStatus.RUNNING)
GRID_PAGE = 100  # cells per page of the run's grid


def jobs_scheduled_by_runs() -> QuerySet:
    """Jobs of cells still queued or running: the runs app publishes and repairs these itself (registered
    with ``studio.generation.extensions.register_self_scheduled_jobs``)."""
    return RunCell.objects.filter(status__in=ACTIVE_CELL_STATUSES, job__isnull=False).values("job_id")


def runs_for_campaign(*, campaign: Campaign) -> QuerySet[ProductionRun]:
    return (
        ProductionRun.objects.filter(campaign=campaign)
        .select_related("deployment", "created_by", "source_version__draft", "master")
        .annotate(
            cell_count=Count("cells"),
            done_count=Count("cells", filter=Q(cells__status=CellStatus.SUCCEEDED)),
        )
        .order_by("-created_at")
    )


def run_get(*, workspace: Workspace, pk: int) -> ProductionRun:
    return get_object_or_404(
        ProductionRun.objects.select_related(
            "workspace",
            "campaign",
            "deployment__profile",
            "created_by",
            "cancelled_by",
            "source_version__draft",
            "master__job",
        ),
        workspace=workspace,
        pk=pk,
    )


@dataclass(frozen=True)
class RunProgress:
    total: int
    queued: int
    running: int
    succeeded: int
    failed: int
    blocked: int
    cancelled: int
    cost_so_far: Decimal
    estimated: Decimal
    started_at: object
    last_finished_at: object
    status: str
    prepared: int = 0  # cells with a job (or ended without one): "preparing N of M cells"
    preparing: bool = False

    @property
    def prepared_percent(self) -> int:
        return int(self.prepared * 100 / self.total) if self.total else 100

    @property
    def finished(self) -> int:
        return self.succeeded + self.failed + self.blocked + self.cancelled

    @property
    def percent(self) -> int:
        return int(self.finished * 100 / self.total) if self.total else 100

    @property
    def eta_seconds(self) -> int | None:
        """Remaining cells at the pace so far (finished cells per second since the first started)."""
        remaining = self.queued + self.running
        if not remaining or not self.finished or self.started_at is None or self.last_finished_at is None:
            return None
        elapsed = (self.last_finished_at - self.started_at).total_seconds()
        if elapsed <= 0:
            return None
        return int(remaining * elapsed / self.finished) + 1

    @property
    def eta_words(self) -> str:
        seconds = self.eta_seconds
        if seconds is None:
            return "—"
        if seconds < 90:
            return f"about {seconds} s"
        if seconds < 5400:
            return f"about {round(seconds / 60)} min"
        return f"about {seconds / 3600:.1f} h"

    def as_dict(self) -> dict:
        return {
            "total": self.total,
            "queued": self.queued,
            "running": self.running,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "blocked": self.blocked,
            "cancelled": self.cancelled,
            "cost_so_far": str(self.cost_so_far),
            "eta_seconds": self.eta_seconds,
            "prepared": self.prepared,
            "preparing": self.preparing,
        }


def run_progress(*, run: ProductionRun) -> RunProgress:
    """The run's counts, cost so far and pace in one aggregate over its cells."""
    money = DecimalField(max_digits=16, decimal_places=6)
    counts = {status.value: Count("pk", filter=Q(status=status)) for status in CellStatus}
    row = RunCell.objects.filter(run=run).aggregate(
        total=Count("pk"),
        cost=Coalesce(Sum("actual_cost"), Value(Decimal(0)), output_field=money),
        started=Min("started_at"),
        last=Max("finished_at"),
        prepared=Count("pk", filter=Q(job__isnull=False) | ~Q(status__in=ACTIVE_CELL_STATUSES)),
        **counts,
    )
    return RunProgress(
        total=row["total"],
        queued=row[CellStatus.QUEUED],
        running=row[CellStatus.RUNNING],
        succeeded=row[CellStatus.SUCCEEDED],
        failed=row[CellStatus.FAILED],
        blocked=row[CellStatus.BLOCKED],
        cancelled=row[CellStatus.CANCELLED],
        cost_so_far=row["cost"],
        estimated=run.estimated_cost,
        started_at=row["started"],
        last_finished_at=row["last"],
        status=run.status,
        prepared=row["prepared"],
        preparing=run.preparing,
    )


GRID_ORDER = ("target_format__name", "target_format_id", "locale")


@dataclass(frozen=True)
class GridFormat:
    pk: int
    name: str
    width: int
    height: int

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"


@dataclass
class GridCell:
    """One square of the run's grid: plain values read in two narrow queries (building 100 cells, their
    formats, jobs and variants as model instances was the largest part of the page's time)."""

    pk: int
    locale: str
    status: str
    planned_size: str
    estimated_cost: Decimal
    actual_cost: Decimal | None
    error: str
    target_format: GridFormat
    job_id: int | None
    variants: list[tuple[int, int, int]] = field(default_factory=list)  # (id, width, height) by index
    # Set by ``cells_decorate``: what the template prints.
    label: str = ""
    status_label: str = ""
    cost_words: str = ""
    error_words: str = ""
    thumbs: list = field(default_factory=list)

    @property
    def target_format_id(self) -> int:
        return self.target_format.pk


_CELL_COLUMNS = (
    "pk",
    "locale",
    "status",
    "planned_size",
    "estimated_cost",
    "actual_cost",
    "error",
    "target_format_id",
    "target_format__name",
    "target_format__width",
    "target_format__height",
    "job_id",
)


def run_cells(
    *, run: ProductionRun, offset: int = 0, limit: int = GRID_PAGE, changed_since: datetime | None = None
) -> list[GridCell]:
    """One page of the run's cells in grid order, each with its format and its job's variants: two queries
    whatever the page's size. With ``changed_since`` only the page's cells updated since then (what a live
    poll sends)."""
    cells = RunCell.objects.filter(run=run)
    if changed_since is not None:
        page = RunCell.objects.filter(run=run).order_by(*GRID_ORDER).values("pk")[offset : offset + limit]
        cells = cells.filter(pk__in=page, updated_at__gt=changed_since)
        offset = 0
    formats: dict[int, GridFormat] = {}
    grid = []
    for pk, locale, status, size, estimate, actual, error, fmt_id, name, width, height, job_id in cells.order_by(
        *GRID_ORDER
    ).values_list(*_CELL_COLUMNS)[offset : offset + limit]:
        fmt = formats.get(fmt_id) or formats.setdefault(fmt_id, GridFormat(fmt_id, name, width, height))
        grid.append(GridCell(pk, locale, status, size, estimate, actual, error, fmt, job_id))
    by_job = {cell.job_id: cell for cell in grid if cell.job_id}
    if by_job:
        rows = Variant.objects.filter(job_id__in=list(by_job)).order_by("job_id", "index", "pk")
        for job_id, pk, width, height in rows.values_list("job_id", "pk", "width", "height"):
            by_job[job_id].variants.append((pk, width, height))
    return grid


@dataclass(frozen=True)
class Thumb:
    href: str
    src: str
    alt: str


def _cost_words(cell: GridCell) -> str:
    if cell.actual_cost is not None:
        return money(cell.actual_cost)
    return "~" + money(cell.estimated_cost)


def cells_decorate(cells: list[GridCell], *, workspace_slug: str) -> list[GridCell]:
    """Give each cell what its grid square prints, computed here once (the template only writes it out:
    at 100 cells a page, filters and lookups per cell were most of the page's time): ``label``,
    ``status_label``, ``cost_words``, ``error_words`` and ``thumbs`` (link, thumbnail URL and alt text of
    each variant, from one reversed URL instead of two ``reverse`` calls per image)."""
    base = reverse("studio:variant", args=[workspace_slug, 1]).rstrip("/").rsplit("/", 1)[0] + "/"
    labels = dict(CellStatus.choices)
    for cell in cells:
        fmt = cell.target_format
        cell.label = f"{fmt.name} · {cell.locale}" if cell.locale else fmt.name
        cell.status_label = labels.get(cell.status, cell.status)
        cell.cost_words = _cost_words(cell)
        cell.error_words = Truncator(cell.error).chars(160) if cell.error else ""
        cell.thumbs = [
            Thumb(f"{base}{pk}/", f"{base}{pk}/thumbnail", f"{cell.label} variant {i} ({width}x{height})")
            for i, (pk, width, height) in enumerate(cell.variants, start=1)
        ]
    return cells


def run_grid(
    cells: list[GridCell], *, workspace_slug: str = ""
) -> tuple[list[str], list[tuple[GridFormat, list[GridCell | None]]]]:
    """(locales, rows): one row per format with one cell (or None) per locale, from a page of cells
    (decorated for the template with ``cells_decorate`` when ``workspace_slug`` is given)."""
    locales = sorted({cell.locale for cell in cells})
    if workspace_slug:
        cells_decorate(cells, workspace_slug=workspace_slug)
    rows: dict[int, tuple[GridFormat, dict[str, GridCell]]] = {}
    for cell in cells:
        rows.setdefault(cell.target_format_id, (cell.target_format, {}))[1][cell.locale] = cell
    return locales, [(fmt, [by_locale.get(loc) for loc in locales]) for fmt, by_locale in rows.values()]


def cells_stuck(*, now=None, queued_grace: timedelta, lease: timedelta) -> QuerySet[RunCell]:
    """Cells of running or cancelling runs that nobody picked up, or whose worker stopped mid-cell."""
    now = now or timezone.now()
    return (
        RunCell.objects.filter(
            Q(status=CellStatus.QUEUED, queued_at__lt=now - queued_grace)
            | Q(status=CellStatus.QUEUED, queued_at__isnull=True)
            | Q(status=CellStatus.RUNNING, started_at__lt=now - lease)
        )
        .exclude(run__status__in=("cancelled", "finished"))
        .order_by("pk")
    )


def runs_unfinished_with_all_cells_done() -> QuerySet[ProductionRun]:
    return ProductionRun.objects.filter(status__in=("running", "cancelling")).exclude(
        cells__status__in=ACTIVE_CELL_STATUSES
    )


def run_report(*, run: ProductionRun) -> dict:
    """The object ``run_launch --json`` and ``run_status --json`` print (the issue's contract)."""
    cells = (
        RunCell.objects.filter(run=run)
        .select_related("target_format", "job")
        .prefetch_related(Prefetch("job__variants", queryset=Variant.objects.order_by("index")))
        .order_by("target_format__name", "target_format_id", "locale")
    )
    rows = []
    actual = Decimal(0)
    errors = []
    for cell in cells:
        actual += cell.actual_cost or Decimal(0)
        variants = list(cell.job.variants.all()) if cell.job_id else []
        if cell.error and cell.status != CellStatus.SUCCEEDED:
            errors.append(f"{cell.target_format.name} · {cell.locale or 'no locale'}: {cell.error}")
        rows.append(
            {
                "id": cell.pk,
                "format": cell.target_format.name,
                "size": cell.target_format.size,
                "locale": cell.locale,
                "status": cell.status,
                "job": cell.job_id,
                "planned_size": cell.planned_size,
                "estimated_cost": str(cell.estimated_cost),
                "actual_cost": None if cell.actual_cost is None else str(cell.actual_cost),
                "error": cell.error or None,
                "variants": [
                    {"id": v.pk, "width": v.width, "height": v.height, "sha256": v.sha256, "status": v.status}
                    for v in variants
                ],
            }
        )
    error = run.error or (f"{len(errors)} cells did not succeed: " + errors[0] if errors else None)
    return {
        "run": run.pk,
        "status": run.status,
        "preparing": run.preparing,  # cells still getting their jobs (the launch's task is under way)
        "campaign": run.campaign.slug,
        "deployment": run.deployment.name,
        "estimated_cost": str(run.estimated_cost),
        "actual_cost": str(actual),
        "error": error,
        "refused": run.refused,
        "cells": rows,
    }
