"""When to try a failed delivery again: exponential backoff (30 s, ×3 each time, at most 6 hours
apart), for up to 24 hours after the event; a last attempt lands exactly at the end of the window."""

from __future__ import annotations

from datetime import datetime, timedelta

FIRST_DELAY_SECONDS = 30
FACTOR = 3
MAX_DELAY_SECONDS = 6 * 60 * 60
WINDOW = timedelta(hours=24)


def retry_delay(attempts: int) -> int:
    """Seconds to wait after the ``attempts``-th failed attempt (1-based)."""
    return min(FIRST_DELAY_SECONDS * FACTOR ** max(attempts - 1, 0), MAX_DELAY_SECONDS)


def next_attempt_at(*, created_at: datetime, attempts: int, now: datetime) -> datetime | None:
    """The next attempt's time, or None once the 24-hour window is spent."""
    deadline = created_at + WINDOW
    if now >= deadline:
        return None
    return min(now + timedelta(seconds=retry_delay(attempts)), deadline)


def schedule(now: datetime) -> list[datetime]:
    """Every attempt's time for a delivery that always fails, the first at ``now`` (docs and tests)."""
    times, attempts, moment = [now], 1, now
    while (following := next_attempt_at(created_at=now, attempts=attempts, now=moment)) is not None:
        times.append(following)
        attempts, moment = attempts + 1, following
    return times
