"""The production runs' audit vocabulary: a run's state changes and every cell's outcome.

Machine names and subject kinds are part of the hash chain and never change; labels and messages are
presentation. Imported from ``RunsConfig.ready()`` so every type is registered before the compliance log
lists them. Services call the builders; nothing in the runs app writes to the chain any other way.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from studio.core.audit import audit_record
from studio.core.events import event_group, event_type
from studio.core.models import AuditEvent
from studio.core.subjects import Values, of_title, subject_kind_register


def _cell_words(values: Values, pk: str) -> str:
    where = ", ".join(str(part) for part in (values.get("format"), values.get("locale")) if part)
    return f"cell #{pk} ({where})" if where else ""


RUN = subject_kind_register(
    "runs.productionrun",
    title="Production run",
    noun="production run",
    model="runs.ProductionRun",
    fields={"campaign": "campaign__name"},
    label=lambda v, pk: of_title(f"production run #{pk}", v.get("campaign")),
    link=lambda v, pk, slug: ("runs:run", [slug, pk]),
)
CELL = subject_kind_register(
    "runs.runcell",
    title="Production run cell",
    noun="run cell",
    model="runs.RunCell",
    fields={"run": "run_id", "format": "target_format__name", "locale": "locale"},
    label=_cell_words,
    link=lambda v, pk, slug: ("runs:run", [slug, v.get("run")]),
)

event_group("runs.run", "Production runs")
event_group("runs.cell", "Production run cells")

RUN_LAUNCHED = event_type(
    "runs.run.launched",
    label="Production run launched",
    message=(
        "{actor} launched {subject}: {cells} cells (formats: {formats}; locales: {locales}) on {deployment}, "
        "about {estimate}"
    ),
    subject_kind=RUN,
)
RUN_CANCEL_REQUESTED = event_type(
    "runs.run.cancel_requested",
    label="Production run cancelled",
    message="{actor} cancelled {subject}: {cancelled} cells stopped, {released} released, {in_flight} finishing",
    subject_kind=RUN,
)
RUN_FINISHED = event_type(
    "runs.run.finished",
    label="Production run finished",
    message="{subject} ended {status}: {succeeded} done, {failed} failed, {blocked} blocked, cost {actual}",
    subject_kind=RUN,
)
RUN_CELLS_RETRIED = event_type(
    "runs.run.cells_retried",
    label="Production run cells retried",
    message="{actor} retried {cells} failed cells of {subject}, about {estimate}",
    subject_kind=RUN,
)
RUN_STOPPED = event_type(
    "runs.run.stopped",
    label="Production run stopped",
    message="{subject} stopped: {reason}",
    subject_kind=RUN,
)
CELL_FINISHED = event_type(
    "runs.cell.finished",
    label="Production run cell finished",
    message="{subject} of run {run} ended {status} (job {job}, cost {actual})",
    subject_kind=CELL,
)
CELL_REQUEUED = event_type(
    "runs.cell.requeued",
    label="Production run cell re-queued",
    message="{actor} re-queued {subject} of run {run}: {reason}",
    subject_kind=CELL,
)


def run_launched(
    *, run: Any, actor: Any, cells: int, formats: list[str], locales: list[str], refused: list[dict]
) -> AuditEvent:
    return audit_record(
        RUN_LAUNCHED,
        workspace=run.workspace,
        actor=actor,
        subject=run,
        data={
            "campaign": run.campaign.slug,
            "source": run.source_label,
            "deployment": run.deployment.name,
            "cells": cells,
            "formats": ", ".join(formats),
            "locales": ", ".join(locales) or "no locale",
            "variants_per_cell": run.variants_per_cell,
            "quality": run.quality,
            "estimate": run.estimated_cost,
            "refused": refused,
        },
    )


def run_cancel_requested(*, run: Any, actor: Any, cancelled: int, released: Decimal, in_flight: int) -> AuditEvent:
    return audit_record(
        RUN_CANCEL_REQUESTED,
        workspace=run.workspace,
        actor=actor,
        subject=run,
        data={"cancelled": cancelled, "released": released, "in_flight": in_flight, "status": str(run.status)},
    )


def run_finished(*, run: Any, counts: dict[str, int], actual: Decimal) -> AuditEvent:
    data = {"status": str(run.status), "actual": actual, **{k: counts.get(k, 0) for k in _COUNT_KEYS}}
    return audit_record(RUN_FINISHED, workspace=run.workspace, actor=None, subject=run, data=data)


_COUNT_KEYS = ("succeeded", "failed", "blocked", "cancelled")


def run_cells_retried(*, run: Any, actor: Any, cell_ids: list[int], estimate: Decimal) -> AuditEvent:
    return audit_record(
        RUN_CELLS_RETRIED,
        workspace=run.workspace,
        actor=actor,
        subject=run,
        data={"cells": len(cell_ids), "cell_ids": cell_ids, "estimate": estimate},
    )


def run_stopped(*, run: Any, reason: str) -> AuditEvent:
    return audit_record(RUN_STOPPED, workspace=run.workspace, actor=None, subject=run, data={"reason": reason})


def cell_finished(*, cell: Any, run: Any) -> AuditEvent:
    return audit_record(
        CELL_FINISHED,
        workspace=run.workspace,
        actor=None,
        subject=cell,
        data={
            "run": run.pk,
            "format": cell.target_format.name,
            "locale": cell.locale,
            "status": str(cell.status),
            "job": cell.job_id,
            "attempts": cell.attempts,
            "estimate": cell.estimated_cost,
            "actual": cell.actual_cost if cell.actual_cost is not None else Decimal(0),
            "error": cell.error[:500],
        },
    )


def cell_requeued(*, cell: Any, run: Any, reason: str) -> AuditEvent:
    return audit_record(
        CELL_REQUEUED,
        workspace=run.workspace,
        actor=None,
        subject=cell,
        data={"run": run.pk, "reason": reason, "status": str(cell.status)},
    )
