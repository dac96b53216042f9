"""The deployment limiter's database backend and the slot context manager (unit; the Redis backend across
two processes is tests/runs/test_limiter_processes.py)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from studio.generation import limiter
from studio.runs.limiter_leases import DatabaseBackend
from studio.runs.models import LeaseKind, LimiterLease


@pytest.fixture
def backend():
    return DatabaseBackend()


def _acquire(backend, deployment, token, *, concurrency=2, rpm=0):
    return backend.acquire(deployment_id=deployment.pk, token=token, concurrency=concurrency, rpm=rpm, lease_seconds=60)


def test_no_more_slots_than_max_concurrency_until_one_is_released(backend, offline_deployment):
    assert _acquire(backend, offline_deployment, "a") == 0
    assert _acquire(backend, offline_deployment, "b") == 0
    assert _acquire(backend, offline_deployment, "c") == -1
    backend.release(deployment_id=offline_deployment.pk, token="a")
    assert _acquire(backend, offline_deployment, "c") == 0


def test_a_killed_workers_slot_frees_when_its_lease_runs_out(backend, offline_deployment):
    assert backend.acquire(
        deployment_id=offline_deployment.pk, token="dead", concurrency=1, rpm=0, lease_seconds=-1
    ) == 0  # fmt: skip
    assert _acquire(backend, offline_deployment, "next", concurrency=1) == 0


def test_requests_per_minute_and_a_429_slow_everyone_down(backend, offline_deployment):
    assert _acquire(backend, offline_deployment, "a", concurrency=10, rpm=2) == 0
    assert _acquire(backend, offline_deployment, "b", concurrency=10, rpm=2) == 0
    wait = _acquire(backend, offline_deployment, "c", concurrency=10, rpm=2)
    assert 0 < wait <= 60
    LimiterLease.objects.filter(kind=LeaseKind.REQUEST).delete()
    backend.slow_down(deployment_id=offline_deployment.pk, seconds=5)
    wait = _acquire(backend, offline_deployment, "d", concurrency=10)
    assert 4 < wait <= 5


def test_deployment_slot_holds_and_releases_a_lease(offline_deployment):
    offline_deployment.max_concurrency = 1
    with limiter.deployment_slot(offline_deployment):
        assert LimiterLease.objects.filter(kind=LeaseKind.SLOT).count() == 1
    assert not LimiterLease.objects.filter(kind=LeaseKind.SLOT).exists()


def test_deployment_slot_gives_up_as_a_retryable_error_when_no_slot_frees(offline_deployment, settings):
    settings.IMPRIMATUR_LIMITER_MAX_WAIT_SECONDS = 0.2
    offline_deployment.max_concurrency = 1
    with (
        limiter.deployment_slot(offline_deployment),
        pytest.raises(limiter.LimiterBusy) as exc,
        limiter.deployment_slot(offline_deployment),
    ):
        pass
    assert exc.value.kind == "retryable"
    assert "busy" in exc.value.user_message


def test_the_redis_backend_is_chosen_when_the_broker_is_redis(settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/15"
    settings.IMPRIMATUR_LIMITER_URL = ""
    assert limiter.limiter_url() == "redis://127.0.0.1:6379/15"
    settings.CELERY_BROKER_URL = "filesystem://"
    assert limiter.limiter_url() == ""
    assert isinstance(limiter.limiter_backend(), DatabaseBackend)


def test_a_pause_is_ignored_for_no_deployment():
    limiter.deployment_slow_down(SimpleNamespace(pk=None), 5)  # nothing to slow: no error
