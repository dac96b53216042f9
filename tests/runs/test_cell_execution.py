"""The cost of running one cell (issue 11's benchmark): a bounded number of queries per cell, the run's row
locked only to end the run, and the thumbnail made on the cheap path."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image

from studio.generation.services.storage import THUMBNAIL_EDGE, thumbnail_make
from studio.runs import services
from studio.runs.models import CellStatus, RunStatus

# One cell, start to end, on SQLite with the offline renderer and the database limiter (six of these): read
# the cell, mark it running, claim the job, call, record the variants, their image check (local rules
# only: no task of its own), the job and the cell in one transaction with one write to the audit chain,
# then see whether the run ended. The prompt was screened while the run was prepared. 36 when this was
# written, image check included (50 plus the check's own task of about 15 before the second round of issue
# 11's work, 82 on PostgreSQL before the first); the margin is for a listener another app adds.
CELL_QUERY_BUDGET = 39


def _png(size: tuple[int, int], mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    if mode == "P":  # a palette image with a transparent colour, as some editors export
        Image.new("P", size, 0).save(out, format="PNG", transparency=0)
    else:
        Image.new(mode, size, (200, 120, 90, 128)[: len(mode)]).save(out, format="PNG")
    return out.getvalue()


def test_a_cell_runs_within_its_query_budget(spec, marketer, django_capture_on_commit_callbacks):
    run = services.run_launch(actor=marketer, spec=spec(), enqueue=False)
    first, second, *_ = run.cells.order_by("pk").values_list("pk", flat=True)
    services.cell_execute(cell_id=first)  # warm: content types, price table, rule caches
    with django_capture_on_commit_callbacks(execute=True), CaptureQueriesContext(connection) as queries:
        cell = services.cell_execute(cell_id=second)
    assert cell.status == CellStatus.SUCCEEDED
    assert len(queries.captured_queries) <= CELL_QUERY_BUDGET, "\n".join(
        q["sql"][:160] for q in queries.captured_queries
    )


def test_recording_a_cell_that_is_not_the_last_leaves_the_run_row_alone(spec, marketer):
    run = services.run_launch(actor=marketer, spec=spec(), enqueue=False)
    cells = list(run.cells.order_by("pk").values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as queries:
        services.cell_execute(cell_id=cells[0])
    assert not [q for q in queries.captured_queries if 'FROM "runs_productionrun"' in q["sql"]]
    for cell_id in cells[1:]:
        services.cell_execute(cell_id=cell_id)
    run.refresh_from_db()
    assert run.status == RunStatus.FINISHED
    assert run.cells.filter(status=CellStatus.SUCCEEDED).count() == len(cells)


def test_a_cell_already_recorded_is_not_recorded_again(spec, marketer):
    run = services.run_launch(actor=marketer, spec=spec(locales=["en"]), enqueue=False)
    cell_id = run.cells.order_by("pk").values_list("pk", flat=True)[0]
    first = services.cell_execute(cell_id=cell_id)
    with CaptureQueriesContext(connection) as queries:
        again = services.cell_execute(cell_id=cell_id)  # a redelivered message
    assert (again.status, again.attempts, again.actual_cost) == (first.status, first.attempts, first.actual_cost)
    assert len(queries.captured_queries) == 1  # the read that finds the cell ended


@pytest.mark.parametrize(
    ("size", "mode", "expected_size", "expected_mode"),
    [
        ((1024, 1024), "RGB", (THUMBNAIL_EDGE, THUMBNAIL_EDGE), "RGB"),
        ((1536, 1024), "RGBA", (THUMBNAIL_EDGE, 256), "RGBA"),
        ((1080, 1920), "P", (216, THUMBNAIL_EDGE), "RGBA"),
        ((200, 100), "RGB", (200, 100), "RGB"),  # never enlarged
    ],
)
def test_thumbnails_are_webp_within_the_edge_keeping_alpha(size, mode, expected_size, expected_mode):
    with Image.open(io.BytesIO(thumbnail_make(_png(size, mode)))) as thumb:
        assert (thumb.format, thumb.size, thumb.mode) == ("WEBP", expected_size, expected_mode)


def test_a_thumbnail_keeps_the_picture():
    """The box-filter reduction before the final resample must not shift colours or halves of the image."""
    image = Image.new("RGB", (1024, 1024), (255, 255, 255))
    image.paste((20, 40, 200), (0, 0, 512, 1024))  # left half blue
    out = io.BytesIO()
    image.save(out, format="PNG")
    with Image.open(io.BytesIO(thumbnail_make(out.getvalue()))) as thumb:
        thumb = thumb.convert("RGB")
        left, right = thumb.getpixel((THUMBNAIL_EDGE // 4, 100)), thumb.getpixel((3 * THUMBNAIL_EDGE // 4, 100))
    assert all(abs(a - b) <= 8 for a, b in zip(left, (20, 40, 200), strict=True))
    assert all(abs(a - b) <= 8 for a, b in zip(right, (255, 255, 255), strict=True))
