"""Percentiles from bucket counts, so a p50/p95 over a million observations reads a few hundred rows.

An integer observation goes into the bucket of its six most significant bits (values under 64 keep
their own bucket): at most 64 buckets per doubling, each at most 1/32 of its value wide, and a bucket
stands for its midpoint, so a percentile is within 1.6% of the exact one. The quantile interpolates
between order statistics as ``percentile_cont`` does, over the buckets' midpoints: the answer from the
counts equals :func:`quantile` over every observation's midpoint (the tests compare them).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal

SIGNIFICANT_BITS = 6


def bucket(value: int) -> int:
    """The lower bound of ``value``'s bucket (negative values count as 0)."""
    value = max(0, int(value))
    shift = value.bit_length() - SIGNIFICANT_BITS
    if shift <= 0:
        return value
    return (value >> shift) << shift


def midpoint(lower: int) -> float:
    """The value a bucket stands for: the middle of the integers it holds."""
    shift = lower.bit_length() - SIGNIFICANT_BITS
    width = 1 << shift if shift > 0 else 1
    return lower + (width - 1) / 2


def error_basis_points(estimated: Decimal, actual: Decimal) -> int | None:
    """An estimate's absolute error in hundredths of a percent of the actual cost (None if nothing was
    charged: there is no error to speak of)."""
    if not actual or actual <= 0:
        return None
    ratio = abs(Decimal(estimated) - Decimal(actual)) * 10000 / Decimal(actual)
    return int(ratio.to_integral_value(rounding=ROUND_HALF_UP))


def quantile(values: list[float], q: float) -> float:
    """Linear-interpolated quantile (what PostgreSQL's ``percentile_cont`` computes)."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lower = math.floor(pos)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (pos - lower)


def counts_quantile(counts: Mapping[int, int], q: float) -> float | None:
    """:func:`quantile` of the multiset ``{midpoint(b): n}`` without expanding it (None when empty)."""
    items = sorted((b, n) for b, n in counts.items() if n > 0)
    total = sum(n for _, n in items)
    if not total:
        return None
    pos = (total - 1) * q
    lower = math.floor(pos)
    low_value = _nth(items, lower)
    high_value = _nth(items, min(lower + 1, total - 1))
    return low_value + (high_value - low_value) * (pos - lower)


def _nth(items: list[tuple[int, int]], index: int) -> float:
    seen = 0
    for lower, n in items:
        seen += n
        if index < seen:
            return midpoint(lower)
    raise IndexError(index)


def observations_quantile(values: Iterable[int], q: float) -> float | None:
    """What :func:`counts_quantile` answers for raw ``values``: the direct recomputation's side."""
    points = [midpoint(bucket(v)) for v in values]
    return quantile(points, q) if points else None


def total(counts: Mapping[int, int]) -> int:
    return sum(counts.values())
