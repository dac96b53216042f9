"""Shared fixtures. Unit tests run with the network off and media in a temp dir."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import factories as f

REAL_SERVICES = os.environ.get("IMPRIMATUR_REAL_SERVICES") == "1"
ROOT = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(config, items):
    """Integration and browser tests need the real services `make test` prepares; run directly without
    them they are skipped with a reason instead of failing obscurely."""
    if REAL_SERVICES:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL, Redis, a Celery worker and Chromium: run `make test`")
    for item in items:
        if item.get_closest_marker("integration") or item.get_closest_marker("browser"):
            item.add_marker(skip)


def _is_real(request) -> bool:
    return bool(request.node.get_closest_marker("integration") or request.node.get_closest_marker("browser"))


@pytest.fixture(autouse=True)
def _media_in_tmp(request, settings, tmp_path):
    if _is_real(request):
        return  # shared MEDIA_ROOT from the environment, so the worker process sees the same files
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media"), "base_url": "/media/"},
        },
    }


@pytest.fixture(autouse=True)
def _fresh_cache(request):
    """The local-memory cache outlives a test (and user ids repeat after rollbacks): start each unit test
    with no counters left by another (e.g. the 404-probe counts of studio.security_middleware), and no
    price row remembered from a test whose rows were rolled back (``studio.generation.pricing``)."""
    from studio.generation.pricing import price_memo_clear

    price_memo_clear()
    if _is_real(request):
        return
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _no_network(request, monkeypatch):
    """Unit tests must not reach any host but loopback; integration and browser tests may."""
    if _is_real(request):
        return
    real_connect = socket.socket.connect

    def guarded(sock, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in ("127.0.0.1", "localhost", "::1") and not host.startswith("/"):
            raise RuntimeError(f"unit tests may not open network connections (tried {address!r})")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def workspace(db):
    return f.WorkspaceFactory(slug="acme", name="Acme")


@pytest.fixture
def profile(db):
    return f.CapabilityProfileFactory()


@pytest.fixture
def price_table(db):
    return f.PriceTableFactory()


def _member(workspace, username, role):
    user = f.UserFactory(username=username)
    f.MembershipFactory(user=user, workspace=workspace, role=role)
    return user


@pytest.fixture
def marketer(workspace):
    return _member(workspace, "mia", f.core_models.Role.MARKETER)


@pytest.fixture
def reviewer(workspace):
    return _member(workspace, "rob", f.core_models.Role.BRAND_REVIEWER)


@pytest.fixture
def compliance(workspace):
    return _member(workspace, "cora", f.core_models.Role.COMPLIANCE)


@pytest.fixture
def ws_admin(workspace):
    return _member(workspace, "ada", f.core_models.Role.ADMIN)


@pytest.fixture
def campaign(workspace):
    return f.CampaignFactory(workspace=workspace, slug="spring", name="Spring launch")


@pytest.fixture
def ad_format(campaign):
    return f.CampaignFormatFactory(campaign=campaign, name="LinkedIn ad", width=1200, height=628)


@pytest.fixture
def offline_deployment(workspace, profile, price_table):
    return f.DeploymentFactory(workspace=workspace, profile=profile, name="offline", is_default=True)


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    """A real `celery worker` subprocess on the Redis broker, pointed at the test database."""
    import redis
    from django.conf import settings
    from django.db import connection

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "DJANGO_SETTINGS_MODULE": "studio.settings.test",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    log_path = Path(settings.MEDIA_ROOT).parent / "celery-worker.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "w")  # noqa: SIM115 - kept open for the worker's lifetime
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "studio",
            "worker",
            "--pool=threads",
            "--concurrency=4",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-Q",
            "celery,batch",  # interactive jobs and production runs' cells (studio.runs)
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"celery worker exited early:\n{log_path.read_text()[-3000:]}")
        if "ready." in log_path.read_text():
            break
        time.sleep(0.3)
    else:
        proc.terminate()
        raise RuntimeError(f"celery worker did not become ready:\n{log_path.read_text()[-3000:]}")
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(autouse=True)
def _worker_idle_before_teardown(request):
    """Let the real worker finish what a test started before pytest-django flushes the tables: a TRUNCATE
    racing a task that is still writing deadlocks, and the next test would then start on leftovers."""
    yield
    # Any real-services test: the session's worker may be running even when this test did not ask for it
    # (e.g. screening tasks a job enqueued on commit).
    if not _is_real(request) or not REAL_SERVICES:
        return
    import redis
    from django.conf import settings

    if not settings.CELERY_BROKER_URL.startswith("redis"):
        return  # no Redis broker, so no worker (e.g. the migration test run on its own, on SQLite)
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if broker.llen("celery") == 0 and broker.llen("batch") == 0 and broker.hlen("unacked") == 0:
            return
        time.sleep(0.2)


def wait_for(predicate, *, timeout: float = 30.0, interval: float = 0.2, message: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value (used with the real worker)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")
