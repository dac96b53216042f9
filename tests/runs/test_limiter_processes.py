"""The deployment limiter across two worker processes against a mock that counts concurrent requests:
never more than ``max_concurrency`` in flight for the deployment, on Redis and on the database fallback
(PostgreSQL), and a 429's retry-after pauses every process."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection

from tests.conftest import ROOT

pytestmark = [pytest.mark.integration]

LATENCY = 0.15


class CountingServer(ThreadingHTTPServer):
    """Counts requests in flight; answers 429 (retry-after) above ``cap`` when one is set."""

    daemon_threads = True

    def __init__(self, cap: int | None = None) -> None:
        self.cap = cap
        self.in_flight = 0
        self.peak = 0
        self.total = 0
        self.rejected = 0
        self.starts: list[float] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), CountingHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1/images/generations"


class CountingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802 - http.server API
        self.rfile.read(int(self.headers.get("content-length", 0)))
        server = self.server
        with server.lock:
            server.in_flight += 1
            server.total += 1
            server.peak = max(server.peak, server.in_flight)
            server.starts.append(time.monotonic())
            over = server.cap is not None and server.in_flight > server.cap
            if over:
                server.rejected += 1
        try:
            if over:
                self.send_response(429)
                self.send_header("retry-after", "1")
                self.send_header("content-length", "0")
                self.end_headers()
                return
            time.sleep(LATENCY)
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"{}")
        finally:
            with server.lock:
                server.in_flight -= 1

    def log_message(self, *args):
        return


@pytest.fixture
def counting_server():
    servers = []

    def start(cap=None):
        server = CountingServer(cap)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _children(server, *, deployment_id: int, limit: int, threads: int, calls: int, env: dict) -> list[str]:
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.runs.limiter_child",
                server.url,
                str(threads),
                str(calls),
                str(deployment_id),
                str(limit),
            ],
            cwd=ROOT,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "studio.settings.test", **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        for _ in range(2)
    ]
    outputs = []
    for proc in procs:
        out, _ = proc.communicate(timeout=180)
        outputs.append(out)
        assert proc.returncode == 0, out[-3000:]
    return outputs


def _redis_env() -> dict:
    from django.conf import settings

    url = settings.CELERY_BROKER_URL
    assert url.startswith("redis"), "run with CELERY_BROKER_URL=redis://... (see the brief)"
    return {"IMPRIMATUR_LIMITER_URL": url}


def _fresh_deployment_id() -> int:
    return 10**9 + uuid.uuid4().int % 10**8  # a key of its own in the shared Redis db


def test_two_processes_never_exceed_max_concurrency_on_redis(counting_server):
    server = counting_server()
    _children(server, deployment_id=_fresh_deployment_id(), limit=3, threads=6, calls=5, env=_redis_env())
    assert server.total == 2 * 6 * 5
    assert server.peak == 3  # the limit, reached but never exceeded


def test_a_429_retry_after_pauses_every_process_on_redis(counting_server):
    """The mock allows 2 in flight; the processes are allowed 4: the first 429 pauses everyone for 1 s,
    so the mock sees a gap, and far fewer 429s than without the shared pause."""
    server = counting_server(cap=2)
    _children(server, deployment_id=_fresh_deployment_id(), limit=4, threads=4, calls=3, env=_redis_env())
    assert server.rejected >= 1
    starts = sorted(server.starts)
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert max(gaps) >= 0.9  # everyone waited out the retry-after
    assert server.rejected < server.total / 2


@pytest.mark.django_db(transaction=True)
def test_two_processes_share_the_database_backend_on_postgresql(counting_server, offline_deployment):
    assert connection.vendor == "postgresql", "the database fallback needs real row locks here"
    type(offline_deployment).objects.filter(pk=offline_deployment.pk).update(max_concurrency=2)
    db = connection.settings_dict
    env = {
        "DATABASE_URL": (
            f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "CELERY_BROKER_URL": "filesystem://",
        "IMPRIMATUR_LIMITER_URL": "",
        "CACHE_URL": "",
        "LIMITER_REAL_DEPLOYMENT": "1",
    }
    server = counting_server()
    _children(server, deployment_id=offline_deployment.pk, limit=2, threads=4, calls=3, env=env)
    assert server.total == 2 * 4 * 3
    assert server.peak == 2
