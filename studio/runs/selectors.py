"""Production runs reads: a run, its progress in one aggregate, its grid, a campaign's runs.

Every lookup is scoped to a workspace and answers 404 for missing and forbidden alike. Query counts are
constant in the number of cells: progress is one aggregate, the grid one query with its joins plus one
prefetch of the cells' variants.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, DecimalField, Max, Min, Prefetch, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone

from studio.core.models import Workspace
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
    )


def run_cells(*, run: ProductionRun, offset: int = 0, limit: int = GRID_PAGE) -> list[RunCell]:
    """One page of the run's cells in grid order, each with its format, job and the job's variants."""
    # Only what the grid shows: a job's JSON columns (parameters, usage, notes) would be decoded 100s of times.
    variants = Variant.objects.only("pk", "job_id", "index", "width", "height").order_by("index")
    return list(
        RunCell.objects.filter(run=run)
        .select_related("target_format", "job")
        .only(
            "pk",
            "run_id",
            "locale",
            "status",
            "planned_size",
            "estimated_cost",
            "actual_cost",
            "error",
            "target_format__id",
            "target_format__name",
            "target_format__width",
            "target_format__height",
            "job__id",
        )  # fmt: skip
        .prefetch_related(Prefetch("job__variants", queryset=variants))
        .order_by("target_format__name", "target_format_id", "locale")[offset : offset + limit]
    )


@dataclass(frozen=True)
class Thumb:
    href: str
    src: str
    size: str


def run_grid(
    cells: list[RunCell], *, workspace_slug: str = ""
) -> tuple[list[str], list[tuple[object, list[RunCell | None]]]]:
    """(locales, rows): one row per format with one cell (or None) per locale, from a page of cells.
    Each cell gets ``thumbs`` (link, thumbnail URL, size of each variant), built from one reversed URL
    instead of two ``reverse`` calls per image."""
    locales = sorted({cell.locale for cell in cells})
    if workspace_slug:
        base = reverse("studio:variant", args=[workspace_slug, 1]).rstrip("/").rsplit("/", 1)[0] + "/"
        for cell in cells:
            variants = cell.job.variants.all() if cell.job_id else []
            cell.thumbs = [Thumb(f"{base}{v.pk}/", f"{base}{v.pk}/thumbnail", v.size) for v in variants]
    rows: dict[int, tuple[object, dict[str, RunCell]]] = {}
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
        "campaign": run.campaign.slug,
        "deployment": run.deployment.name,
        "estimated_cost": str(run.estimated_cost),
        "actual_cost": str(actual),
        "error": error,
        "refused": run.refused,
        "cells": rows,
    }
