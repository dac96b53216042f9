"""The Redis limiter hands a released slot to a waiting worker at once (a blocking wait on a "freed" list),
not after a poll interval; and the waiting itself costs next to nothing. Needs Redis (integration)."""

from __future__ import annotations

import threading
import time
import uuid
from types import SimpleNamespace

import pytest
from django.conf import settings

from studio.generation import limiter

pytestmark = [pytest.mark.integration]


@pytest.fixture
def redis_limiter(monkeypatch):
    url = settings.CELERY_BROKER_URL
    assert url.startswith("redis"), "run with CELERY_BROKER_URL=redis://... (see the brief)"
    monkeypatch.setattr(settings, "IMPRIMATUR_LIMITER_URL", url, raising=False)
    deployment = SimpleNamespace(
        pk=10**9 + uuid.uuid4().int % 10**8,  # keys of its own in the shared Redis db
        name="mock",
        max_concurrency=1,
        requests_per_minute=0,
        request_timeout_seconds=30,
    )
    backend = limiter.limiter_backend()
    assert isinstance(backend, limiter.RedisBackend)
    yield deployment, backend
    backend.reset(deployment.pk)


def _waiter(deployment, acquired_at: list[float]) -> threading.Thread:
    def run() -> None:
        with limiter.deployment_slot(deployment):
            acquired_at.append(time.monotonic())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_released_slot_goes_to_a_waiter_without_a_poll_interval(redis_limiter, monkeypatch):
    deployment, _backend = redis_limiter
    # A waiter that only re-checked on its own would now wait 30 s: only the release can wake it in time.
    monkeypatch.setattr(limiter, "BLOCK_SECONDS", 30.0)
    acquired_at: list[float] = []
    with limiter.deployment_slot(deployment):
        thread = _waiter(deployment, acquired_at)
        time.sleep(0.3)
        assert not acquired_at  # the slot is held: the waiter is blocked
        released_at = time.monotonic()
    thread.join(timeout=5)
    assert acquired_at, "the waiter never got the released slot"
    assert acquired_at[0] - released_at < 0.1


def test_waiters_block_instead_of_polling(redis_limiter, monkeypatch):
    """Eight threads wait 1.5 s for one held slot: they run the acquire script a handful of times each
    (once, then after each of their own re-checks), not every few milliseconds."""
    deployment, backend = redis_limiter
    calls = []
    real_acquire = backend.acquire

    def counting_acquire(**kwargs):
        calls.append(1)
        return real_acquire(**kwargs)

    monkeypatch.setattr(backend, "acquire", counting_acquire)
    acquired_at: list[float] = []
    with limiter.deployment_slot(deployment):
        threads = [_waiter(deployment, acquired_at) for _ in range(8)]
        time.sleep(1.5)
        assert not acquired_at
        waiting_calls = len(calls) - 1  # the holder's own acquire
    for thread in threads:
        thread.join(timeout=10)
    assert len(acquired_at) == 8  # each release woke the next waiter
    assert waiting_calls <= 8 * 3
