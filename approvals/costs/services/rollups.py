"""Writing the rollups: apply a :class:`~approvals.costs.rollups.RollupDelta` (additive upserts), or
rebuild both tables from the cost rows (after a deploy that adds a rollup, or to repair one).

Upserts add to what is there (``x = x + excluded.x``), so any number of writers can apply deltas at once;
each statement touches its rows in key order. On PostgreSQL a statement takes one array per column
(``unnest``), so its text is the same for any number of rows and psycopg parses it once per process.
The rebuild takes a lock that makes those writers wait until it commits: a fact committed before the
lock is counted by the rebuild, one committed after it adds its own delta afterwards, so nothing is
counted twice or lost.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import CharField, Count, Q, Sum

from approvals.costs.histograms import error_basis_points
from approvals.costs.models import (
    AssetCost,
    CostBreakdownDay,
    CostHistogramDay,
    CostWatermark,
    DecisionCost,
    JobCost,
)
from approvals.costs.rollups import (
    APPROVAL,
    ASSET_KEYS,
    DECISION,
    ESTIMATE_ERROR,
    JOB_KEYS,
    JOB_SUMS,
    LATENCY,
    MONEY_SUMS,
    SUCCEEDED,
    SUMS,
    RollupDelta,
    class_series,
)
from approvals.reviews.models import Decision

BREAKDOWN_KEY = ("workspace_id", "campaign_ref", "period", "day", "dimension", "value", "currency")
HISTOGRAM_KEY = ("workspace_id", "campaign_ref", "period", "day", "metric", "series", "bucket")
ROWS_PER_STATEMENT = 500
REBUILT = "rollups-rebuilt"
QUANTUM = Decimal("0.000001")


def _param(value):
    return str(value) if isinstance(value, Decimal) else value


def _chunks(rows) -> Iterator[list]:
    chunk: list = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == ROWS_PER_STATEMENT:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _upsert(model, key: tuple[str, ...], sums: tuple[str, ...], rows, *, add: bool = True) -> int:
    """Insert ``rows`` (key values then sums), adding to the sums of rows already there (``add``) or
    into an empty table. Returns the number of rows."""
    if connection.vendor == "postgresql":
        return _upsert_arrays(model, key, sums, rows, add=add)
    return _upsert_values(model, key, sums, rows, add=add)


def _upsert_values(model, key: tuple[str, ...], sums: tuple[str, ...], rows, *, add: bool) -> int:
    """Multi-row ``VALUES``, on any database (SQLite)."""
    table = model._meta.db_table
    names = ", ".join(connection.ops.quote_name(c) for c in (*key, *sums))
    one = "(" + ", ".join(["%s"] * (len(key) + len(sums))) + ")"
    on_conflict = _on_conflict(model, key, sums) if add else ""
    written = 0
    with connection.cursor() as cursor:
        for chunk in _chunks(rows):
            # Identifiers come from the model's metadata only; every value is a parameter.
            sql = f"INSERT INTO {table} ({names}) VALUES {', '.join([one] * len(chunk))}{on_conflict}"  # noqa: S608
            cursor.execute(sql, [_param(v) for r in chunk for v in r])
            written += len(chunk)
    return written


def _on_conflict(model, key: tuple[str, ...], sums: tuple[str, ...]) -> str:
    table, quote = model._meta.db_table, connection.ops.quote_name
    conflict = ", ".join(quote(c) for c in key)
    updates = ", ".join(f"{quote(c)} = {table}.{quote(c)} + excluded.{quote(c)}" for c in sums)
    return f" ON CONFLICT ({conflict}) DO UPDATE SET {updates}"


@functools.cache
def _arrays_statement(model, key: tuple[str, ...], sums: tuple[str, ...], add: bool) -> tuple[str, tuple[bool, ...]]:
    """``INSERT ... SELECT FROM unnest(one array per column)``: the same text whatever the number of rows,
    with one parameter per column, so psycopg parses it once per process (a statement of over 50
    parameters or 4 KB, as the ``VALUES`` form of a job's ~45 rows is, is parsed again on every call).
    ``unnest`` yields the rows in array order, so they are still touched in key order. The casts are the
    columns' own types, from the model. Returns the statement and which columns hold text."""
    columns = (*key, *sums)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    arrays = ", ".join(f"%s::{model._meta.get_field(c).db_type(connection)}[]" for c in columns)
    on_conflict = _on_conflict(model, key, sums) if add else ""
    sql = f"INSERT INTO {model._meta.db_table} ({names}) SELECT * FROM unnest({arrays}){on_conflict}"  # noqa: S608
    return sql, tuple(isinstance(model._meta.get_field(c), CharField) for c in columns)


def _array_literal(values, *, text: bool) -> str:
    """One column as a PostgreSQL array literal (``{1,2}``, ``{"a","b \\"c\\""}``), passed as one string:
    psycopg's client-side quoting of a list escapes it element by element, which cost more than the
    rest of recording a job. Text is always double-quoted with ``\\`` and ``"`` escaped (so ``"NULL"`` is
    the string); numbers and dates are their ``str()``, which the casts read back exactly."""
    if text:
        items = ("NULL" if v is None else '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    else:
        items = ("NULL" if v is None else str(v) for v in values)
    return "{" + ",".join(items) + "}"


def _upsert_arrays(model, key: tuple[str, ...], sums: tuple[str, ...], rows, *, add: bool) -> int:
    sql, text = _arrays_statement(model, key, sums, add)
    written = 0
    with connection.cursor() as cursor:
        for chunk in _chunks(rows):
            columns = zip(text, zip(*chunk, strict=True), strict=True)
            cursor.execute(sql, [_array_literal(values, text=is_text) for is_text, values in columns])
            written += len(chunk)
    return written


def _insert(model, columns: tuple[str, ...], rows) -> int:
    """Bulk insert into an emptied table: ``COPY`` on PostgreSQL (a rebuild writes millions of rows),
    multi-row inserts elsewhere."""
    if connection.vendor != "postgresql":
        return _upsert(model, columns, (), rows, add=False)
    quote = connection.ops.quote_name
    written = 0
    with connection.cursor() as cursor:
        names = ", ".join(quote(c) for c in columns)
        with cursor.copy(f"COPY {model._meta.db_table} ({names}) FROM STDIN") as copy:  # noqa: S608
            for row in rows:
                copy.write_row(row)
                written += 1
    return written


def rollups_apply(delta: RollupDelta) -> None:
    """Add ``delta`` to both rollups: at most a couple of statements for a job or a draft."""
    breakdown = [(*key, *sums) for key, sums in delta.breakdown_rows()]
    if breakdown:
        _upsert(CostBreakdownDay, BREAKDOWN_KEY, SUMS, breakdown)
    histogram = [(*key, n) for key, n in delta.histogram_rows()]
    if histogram:
        _upsert(CostHistogramDay, HISTOGRAM_KEY, ("count",), histogram)


def _money(value) -> Decimal:
    return Decimal(value or 0).quantize(QUANTUM)  # SQLite sums decimals as floats


def _delta_for_workspace(workspace_id: int) -> RollupDelta:
    """Every job and asset of one workspace, from GROUP BYs over its cost rows (a few rows per day and
    key instead of one per job), through the same :class:`RollupDelta` the hooks use."""
    delta = RollupDelta()
    jobs = JobCost.objects.filter(workspace_id=workspace_id).order_by()
    for row in jobs.values(*JOB_KEYS).annotate(
        n_jobs=Count("pk"),
        n_images=Sum("images"),
        n_spend=Sum("spend"),
        n_productive_spend=Sum("productive_spend"),
        n_estimated_cost=Sum("estimated_cost"),
        n_output_tokens=Sum("output_tokens"),
        n_cached_tokens=Sum("cached_tokens"),
        n_cached_savings=Sum("cached_savings"),
        n_cached_jobs=Count("pk", filter=Q(cached_tokens__gt=0)),
    ):
        sums = {name: row[f"n_{name}"] or 0 for name in JOB_SUMS}
        sums.update({name: _money(sums[name]) for name in MONEY_SUMS if name in sums})
        delta.add_sums(row, sums, job=True)
    succeeded = jobs.filter(status=SUCCEEDED)
    for row in (
        succeeded.filter(latency_ms__isnull=False)
        .values("workspace_id", "campaign_id", "day", "deployment_id", "latency_ms")
        .annotate(n=Count("pk"))
    ):
        delta.add_observation(row, LATENCY, str(row["deployment_id"]), row["latency_ms"], row["n"])
    for row in (
        succeeded.filter(spend__gt=0)
        .values("workspace_id", "campaign_id", "day", "model", "quality", "size_class", "estimated_cost", "spend")
        .annotate(n=Count("pk"))
    ):
        error = error_basis_points(_money(row["estimated_cost"]), _money(row["spend"]))
        series = class_series(row["model"], row["quality"], row["size_class"])
        delta.add_observation(row, ESTIMATE_ERROR, series, error, row["n"])
    assets = AssetCost.objects.filter(workspace_id=workspace_id).order_by()
    for row in assets.values(*ASSET_KEYS).annotate(
        n=Count("pk"), n_published=Count("pk", filter=Q(published_at__isnull=False)), n_lineage=Sum("lineage_spend")
    ):
        sums = {"approved": row["n"], "published": row["n_published"], "lineage_spend": _money(row["n_lineage"])}
        delta.add_sums(row, sums, job=False)
    for row in assets.values("workspace_id", "campaign_id", "day", "seconds_to_approval").annotate(n=Count("pk")):
        delta.add_observation(row, APPROVAL, "", row["seconds_to_approval"], row["n"])
    decisions = DecisionCost.objects.filter(workspace_id=workspace_id).order_by()
    for row in decisions.values("workspace_id", "campaign_id", "day", "reviewer_id", "seconds_to_decision").annotate(
        n=Count("pk")
    ):
        delta.add_observation(row, DECISION, str(row["reviewer_id"]), row["seconds_to_decision"], row["n"])
    return delta


@transaction.atomic
def rollups_rebuild() -> dict[str, int]:
    """Recompute both rollups from ``JobCost``, ``AssetCost`` and ``DecisionCost`` (recording decisions
    that have no row yet first), one workspace at a time. Returns the number of rows written."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            tables = f"{CostBreakdownDay._meta.db_table}, {CostHistogramDay._meta.db_table}"
            cursor.execute(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE")  # noqa: S608 - model metadata
    from approvals.costs.services.decisions import decisions_backfill

    decisions_backfill()
    CostBreakdownDay.objects.all().delete()
    CostHistogramDay.objects.all().delete()
    workspaces = set(JobCost.objects.values_list("workspace_id", flat=True).distinct())
    workspaces |= set(AssetCost.objects.values_list("workspace_id", flat=True).distinct())
    workspaces |= set(DecisionCost.objects.values_list("workspace_id", flat=True).distinct())
    written = {"breakdown": 0, "histogram": 0}
    for workspace_id in sorted(workspaces):
        delta = _delta_for_workspace(workspace_id)
        rows = ((*key, *sums) for key, sums in delta.breakdown_rows())
        written["breakdown"] += _insert(CostBreakdownDay, (*BREAKDOWN_KEY, *SUMS), rows)
        rows = ((*key, n) for key, n in delta.histogram_rows())
        written["histogram"] += _insert(CostHistogramDay, (*HISTOGRAM_KEY, "count"), rows)
    mark_rebuilt()
    return written


def mark_rebuilt() -> None:
    from django.utils import timezone

    CostWatermark.objects.update_or_create(name=REBUILT, defaults={"reached_at": timezone.now()})


def rebuild_needed() -> bool:
    """True when cost rows exist that the rollups were never built from (the rollup tables are newer
    than the facts: the first catch-up after the deploy builds them)."""
    if CostWatermark.objects.filter(name=REBUILT).exists():
        return False
    return JobCost.objects.exists() or AssetCost.objects.exists() or Decision.objects.exists()
