"""Per-deployment request limits shared by every worker (concurrency and requests per minute).

Interface used by the execution service around each provider call. The production-runs work replaces the
bodies with a Redis-backed limiter (database-backed without Redis); until then no limit is applied."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def deployment_slot(deployment) -> Iterator[None]:
    """Hold one of ``deployment.max_concurrency`` slots (and one request of its per-minute allowance)
    for the duration of one provider call; blocks (bounded) until a slot is free."""
    yield


def deployment_slow_down(deployment, retry_after_seconds: float) -> None:
    """The service answered 429 with ``retry-after``: every worker waits that long before its next call."""
