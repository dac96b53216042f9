"""Percentiles from bucket counts, and the periods a date range is read from."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from approvals.costs.histograms import bucket, counts_quantile, midpoint, observations_quantile, quantile
from approvals.costs.models import Period
from approvals.costs.selectors.scope import cover

values = st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=200)
fractions = st.sampled_from([0.0, 0.1, 0.5, 0.9, 0.95, 1.0])


@given(values, fractions)
def test_counts_give_the_percentile_of_the_bucketed_observations_within_the_bucket_precision(raw, q):
    counts = Counter(bucket(v) for v in raw)
    from_counts = counts_quantile(counts, q)
    assert from_counts == observations_quantile(raw, q)
    exact = quantile([float(v) for v in raw], q)
    # each order statistic moves by at most 1/64 of itself; the interpolation by at most the larger move
    neighbours = sorted(raw)[int((len(raw) - 1) * q) :][:2]
    assert abs(from_counts - exact) <= max(neighbours) / 64 + 0.5


@given(st.integers(min_value=0, max_value=10**12))
def test_a_bucket_holds_its_value_and_stands_for_its_middle(value):
    lower = bucket(value)
    assert lower <= value
    assert bucket(lower) == lower
    assert abs(midpoint(lower) - value) <= max(value / 64, 0.5)


def test_small_values_keep_their_own_bucket_and_empty_counts_have_no_percentile():
    assert [bucket(v) for v in (0, 1, 63)] == [0, 1, 63]
    assert bucket(1200) == 1184
    assert counts_quantile({}, 0.5) is None


@given(st.dates(min_value=dt.date(2025, 1, 1), max_value=dt.date(2027, 12, 31)), st.integers(0, 400))
def test_a_range_is_covered_by_whole_weeks_and_at_most_six_days_at_each_end(since, length):
    until = since + dt.timedelta(days=length)
    covered = []
    for period, first, last in cover(since, until):
        day = first
        while day <= last:
            if period == Period.WEEK:
                assert day.weekday() == 0
                covered += [day + dt.timedelta(days=k) for k in range(7)]
                day += dt.timedelta(days=7)
            else:
                covered.append(day)
                day += dt.timedelta(days=1)
    assert covered == [since + dt.timedelta(days=k) for k in range(length + 1)]
    days = [r for r in cover(since, until) if r[0] == Period.DAY]
    assert all((last - first).days < 6 for _, first, last in days) or len(days) == 1
