"""The retry schedule: exponential, capped, inside 24 hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from approvals.webhooks import backoff

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_delays_grow_exponentially_then_cap():
    assert [backoff.retry_delay(n) for n in range(1, 9)] == [30, 90, 270, 810, 2430, 7290, 21600, 21600]


def test_schedule_spans_exactly_24_hours():
    times = backoff.schedule(T0)
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    assert gaps[:6] == [30, 90, 270, 810, 2430, 7290]
    assert all(later >= earlier for earlier, later in zip(gaps, gaps[1:-1], strict=False))
    assert times[-1] == T0 + timedelta(hours=24)
    assert len(times) == 11  # the first attempt and ten retries


def test_no_attempt_after_the_window():
    assert backoff.next_attempt_at(created_at=T0, attempts=3, now=T0 + timedelta(hours=24)) is None
    late = backoff.next_attempt_at(created_at=T0, attempts=9, now=T0 + timedelta(hours=23))
    assert late == T0 + timedelta(hours=24)
