"""Per-deployment request limits shared by every worker (concurrency and requests per minute).

The execution service wraps each provider call in ``deployment_slot(deployment)`` and reports a 429's
``retry-after`` with ``deployment_slow_down``. The counts live outside any one process, so every thread of
every worker (and the CLI's ``--wait``) shares one ``max_concurrency`` and one ``requests_per_minute``:

- **Redis** (when the broker, the cache or ``IMPRIMATUR_LIMITER_URL`` is Redis): one Lua script per
  attempt, atomic on the server. A slot is a member of a sorted set scored by its expiry (the call's
  timeout plus a margin), so a worker killed mid-call frees its slot when the lease runs out, without
  anyone cleaning up. Requests per minute are a second sorted set of start times; a 429 sets a pause key
  that every acquirer honours. Time is Redis's own clock (``TIME``), so hosts with skewed clocks agree.
- **The database** otherwise (``make run``: filesystem broker and SQLite): the same leases as rows, under
  a row lock on the deployment. The studio layer cannot own that table, so the runs app (a layer above)
  registers it with ``register_database_backend`` in its ``ready()``; without a registered backend no
  limit is applied.

Waiting blocks on a release notification (Redis) or is a jittered poll (database), bounded by
``IMPRIMATUR_LIMITER_MAX_WAIT_SECONDS``; past that the call is refused as a retryable provider error, so
the job is retried later instead of holding a worker thread for ever.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from django.conf import settings

from studio.lib.providers import ErrorKind, ProviderError

logger = logging.getLogger(__name__)

LEASE_MARGIN_SECONDS = 30
REDIS_POLL_SECONDS = (0.005, 0.02)
# A waiter blocked on the "freed" list wakes at once when a slot is released; it re-checks on its own only
# this often, for the one way a slot frees without a release (a killed worker's lease running out). Short
# re-checks made every waiting thread of every worker run the acquire script ten times a second.
BLOCK_SECONDS = 1.0
DATABASE_POLL_SECONDS = (0.05, 0.15)
KEY_PREFIX = "imprimatur:limiter"


class LimiterBusy(ProviderError):
    """No slot within the limiter's longest wait: retried later like any busy service."""

    def __init__(self, deployment) -> None:
        super().__init__(
            f"{deployment.name} is busy with other work (its limit is {deployment.max_concurrency} at once); "
            "trying again shortly.",
            kind=ErrorKind.RETRYABLE,
            code="limiter_busy",
        )


class LimiterBackend(Protocol):
    poll: tuple[float, float]

    def acquire(self, *, deployment_id: int, token: str, concurrency: int, rpm: int, lease_seconds: float) -> float:
        """0 when the slot is taken; else seconds to wait before trying again (-1: "poll")."""

    def release(self, *, deployment_id: int, token: str) -> None: ...

    def slow_down(self, *, deployment_id: int, seconds: float) -> None: ...


# --- Redis ----------------------------------------------------------------------------------------------

_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local pause = tonumber(redis.call('GET', KEYS[3]) or '0')
if pause > now then return pause - now end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return -1 end
local rpm = tonumber(ARGV[3])
if rpm > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - 60000)
  if redis.call('ZCARD', KEYS[2]) >= rpm then
    local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    return math.max(1, tonumber(oldest[2]) + 60000 - now)
  end
  redis.call('ZADD', KEYS[2], now, ARGV[1])
  redis.call('PEXPIRE', KEYS[2], 61000)
end
local lease = tonumber(ARGV[4])
redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
redis.call('PEXPIRE', KEYS[1], lease + 1000)
return 0
"""
_SLOW_DOWN = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ms = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if now + ms > current then redis.call('SET', KEYS[1], now + ms, 'PX', ms) end
return 0
"""


_RELEASE = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  redis.call('LPUSH', KEYS[2], '1')
  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[2]) - 1)
  redis.call('PEXPIRE', KEYS[2], 60000)
end
return 0
"""


class RedisBackend:
    """Waiting for a slot blocks on a "freed" list (``BLPOP`` with a short timeout) that every release
    pushes to, so a freed slot wakes one waiter at once instead of every waiter polling the server."""

    poll = REDIS_POLL_SECONDS

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
        self._acquire = self.client.register_script(_ACQUIRE)
        self._slow_down = self.client.register_script(_SLOW_DOWN)
        self._release = self.client.register_script(_RELEASE)

    @staticmethod
    def _keys(deployment_id: int) -> list[str]:
        base = f"{KEY_PREFIX}:{deployment_id}"
        return [f"{base}:slots", f"{base}:minute", f"{base}:pause", f"{base}:freed"]

    def acquire(self, *, deployment_id: int, token: str, concurrency: int, rpm: int, lease_seconds: float) -> float:
        wait_ms = int(
            self._acquire(keys=self._keys(deployment_id), args=[token, concurrency, rpm, int(lease_seconds * 1000)])
        )
        return wait_ms / 1000 if wait_ms > 0 else float(wait_ms)

    def release(self, *, deployment_id: int, token: str) -> None:
        keys = self._keys(deployment_id)
        self._release(keys=[keys[0], keys[3]], args=[token, 64])

    def wait_for_release(self, *, deployment_id: int, seconds: float) -> None:
        """Block until a slot is released (or ``seconds`` pass): one waiter per release."""
        self.client.blpop([self._keys(deployment_id)[3]], timeout=max(0.01, seconds))

    def slow_down(self, *, deployment_id: int, seconds: float) -> None:
        self._slow_down(keys=[self._keys(deployment_id)[2]], args=[max(1, int(seconds * 1000))])

    def in_flight(self, deployment_id: int) -> int:
        """Live slots (for tests and the bench)."""
        key = self._keys(deployment_id)[0]
        now_ms = int(time.time() * 1000)
        return int(self.client.zcount(key, now_ms, "+inf"))

    def reset(self, deployment_id: int) -> None:
        self.client.delete(*self._keys(deployment_id))


# --- choosing a backend ---------------------------------------------------------------------------------

_database_backend: list[LimiterBackend] = []
_redis_backends: dict[str, RedisBackend] = {}
_lock = threading.Lock()


def register_database_backend(backend: LimiterBackend) -> LimiterBackend:
    """The fallback without Redis (registered by the runs app, which owns the lease table)."""
    _database_backend[:] = [backend]
    return backend


def limiter_url() -> str:
    """Where the shared counts live: an explicit URL, else the cache's or the broker's Redis, else ""."""
    explicit = getattr(settings, "IMPRIMATUR_LIMITER_URL", "")
    if explicit:
        return explicit if explicit.startswith("redis") else ""
    cache = settings.CACHES.get("default", {})
    if "redis" in cache.get("BACKEND", "").lower() and str(cache.get("LOCATION", "")).startswith("redis"):
        return str(cache["LOCATION"])
    broker = getattr(settings, "CELERY_BROKER_URL", "") or ""
    return broker if broker.startswith("redis") else ""


def limiter_backend() -> LimiterBackend | None:
    url = limiter_url()
    if url:
        with _lock:
            if url not in _redis_backends:
                _redis_backends[url] = RedisBackend(url)
            return _redis_backends[url]
    return _database_backend[0] if _database_backend else None


def _max_wait() -> float:
    return float(getattr(settings, "IMPRIMATUR_LIMITER_MAX_WAIT_SECONDS", 600))


def _lease_seconds(deployment) -> float:
    timeout = getattr(deployment, "request_timeout_seconds", None) or settings.IMPRIMATUR_PROVIDER_TIMEOUT_SECONDS
    return float(timeout) + LEASE_MARGIN_SECONDS


def _acquire(backend: LimiterBackend, deployment, token: str) -> None:
    deadline = time.monotonic() + _max_wait()
    low, high = backend.poll
    while True:
        wait = backend.acquire(
            deployment_id=deployment.pk,
            token=token,
            concurrency=max(1, int(deployment.max_concurrency or 1)),
            rpm=max(0, int(deployment.requests_per_minute or 0)),
            lease_seconds=_lease_seconds(deployment),
        )
        if wait == 0:
            return
        pause = random.uniform(low, high) if wait < 0 else wait + random.uniform(0, high)  # noqa: S311
        if time.monotonic() + pause > deadline:
            raise LimiterBusy(deployment)
        if wait < 0 and hasattr(backend, "wait_for_release"):
            backend.wait_for_release(
                deployment_id=deployment.pk, seconds=min(BLOCK_SECONDS, deadline - time.monotonic())
            )
        else:
            time.sleep(pause)


@contextmanager
def deployment_slot(deployment) -> Iterator[None]:
    """Hold one of ``deployment.max_concurrency`` slots (and one request of its per-minute allowance)
    for the duration of one provider call; blocks (bounded) until a slot is free."""
    backend = limiter_backend()
    if backend is None or deployment is None or deployment.pk is None:
        yield
        return
    token = uuid.uuid4().hex
    try:
        _acquire(backend, deployment, token)
    except LimiterBusy:
        raise
    except Exception:  # the limiter's store is down: calling unlimited beats failing every job
        logger.warning("limiter unavailable for deployment %s; calling without a limit", deployment.pk, exc_info=True)
        yield
        return
    try:
        yield
    finally:
        try:
            backend.release(deployment_id=deployment.pk, token=token)
        except Exception:  # the lease expires by itself
            logger.warning("could not release limiter slot of deployment %s", deployment.pk, exc_info=True)


def deployment_slow_down(deployment, retry_after_seconds: float) -> None:
    """The service answered 429 with ``retry-after``: every worker waits that long before its next call."""
    backend = limiter_backend()
    if backend is None or deployment is None or deployment.pk is None or not retry_after_seconds:
        return
    try:
        backend.slow_down(deployment_id=deployment.pk, seconds=min(float(retry_after_seconds), 900.0))
    except Exception:
        logger.warning("could not record a slow-down for deployment %s", deployment.pk, exc_info=True)
