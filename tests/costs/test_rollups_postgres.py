"""The PostgreSQL upsert (one array per column, ``unnest``) adds deltas up exactly as the ``VALUES`` form
does, whatever the strings in the keys, with a statement text that does not depend on the rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from approvals.costs.models import CostBreakdownDay, CostHistogramDay
from approvals.costs.rollups import SUMS, RollupDelta
from approvals.costs.services import rollups as writer

pytestmark = pytest.mark.integration

D = Decimal
AWKWARD = ["plain", 'comma, "quoted" {braced}', "back\\slash\\", "NULL", "", " padded ", "{}", "it's", "ünï 日本"]


def _delta(workspace_id: int, campaign_id: int, *, spend: str, jobs: int) -> RollupDelta:
    delta = RollupDelta()
    for i, value in enumerate(AWKWARD):
        keys = {
            "workspace_id": workspace_id,
            "campaign_id": campaign_id,
            "day": dt.date(2026, 12, 2) - dt.timedelta(days=i),
            "currency": "USD",
            "model": value,
            "deployment_id": 7,
            "quality": "medium",
            "size_class": 1,
            "locale": value[:20],
            "route": "",
            "operation": "generate",
            "status": "succeeded",
            "cause": "",
            "price_table_id": None,
            "rates_digest": "",
        }
        delta.add_sums(keys, {"jobs": jobs, "images": 2 * jobs, "spend": D(spend), "cached_jobs": 0}, job=True)
        delta.add_observation(keys, "latency_ms", value, 1000 + i, jobs)
    return delta


def _rows() -> tuple[list, list]:
    breakdown = sorted(CostBreakdownDay.objects.values_list(*writer.BREAKDOWN_KEY, *SUMS))
    histogram = sorted(CostHistogramDay.objects.values_list(*writer.HISTOGRAM_KEY, "count"))
    return breakdown, histogram


def _apply_values(delta: RollupDelta) -> None:
    breakdown = [(*key, *sums) for key, sums in delta.breakdown_rows()]
    writer._upsert_values(CostBreakdownDay, writer.BREAKDOWN_KEY, SUMS, breakdown, add=True)
    histogram = [(*key, n) for key, n in delta.histogram_rows()]
    writer._upsert_values(CostHistogramDay, writer.HISTOGRAM_KEY, ("count",), histogram, add=True)


def test_two_deltas_add_up_as_with_values(workspace, campaign):
    assert connection.vendor == "postgresql"
    first = _delta(workspace.pk, campaign.pk, spend="0.123456", jobs=1)
    second = _delta(workspace.pk, campaign.pk, spend="0.000001", jobs=2)
    writer.rollups_apply(first)
    writer.rollups_apply(second)
    with_arrays = _rows()
    CostBreakdownDay.objects.all().delete()
    CostHistogramDay.objects.all().delete()
    _apply_values(first)
    _apply_values(second)
    assert with_arrays == _rows()
    total = CostBreakdownDay.objects.get(campaign_ref=0, period="D", day=dt.date(2026, 12, 2), dimension="total")
    assert (total.jobs, total.images, total.spend, total.approved) == (3, 6, D("0.123457"), 0)
    models = set(CostBreakdownDay.objects.filter(dimension="model").values_list("value", flat=True))
    assert models == set(AWKWARD)


def test_the_statement_is_one_parameter_per_column_whatever_the_rows():
    sql, text = writer._arrays_statement(CostBreakdownDay, writer.BREAKDOWN_KEY, SUMS, True)
    columns = len(writer.BREAKDOWN_KEY) + len(SUMS)
    assert sql.count("%s") == columns <= 50
    assert len(sql) <= 4096  # psycopg caches the parsing of statements up to 4 KB with up to 50 parameters
    assert "numeric(16, 6)[]" in sql
    assert "ON CONFLICT" in sql
    assert [c for c, is_text in zip(writer.BREAKDOWN_KEY, text, strict=False) if is_text] == [
        "period",
        "dimension",
        "value",
        "currency",
    ]
