"""A worker killed mid-job: the message is redelivered and the job still ends with one set of variants and
one cost.

Real services: PostgreSQL, Redis (kombu's redis transport), two `celery worker` subprocesses started here,
and a local OpenAI-compatible images server on 127.0.0.1 that takes ~4 s per call, long enough to SIGKILL
the worker while the call is in flight.

How redelivery works on Redis: with ``acks_late`` the message stays in the ``unacked`` hash (scored by
delivery time in ``unacked_index``) until the task finishes. Nobody acks it when the worker dies; another
worker's ``QoS.restore_visible`` sweep moves it back onto its queue once it is older than the transport's
``visibility_timeout`` (``CELERY_VISIBILITY_TIMEOUT``, 3 s here). A worker sweeps once when it starts
consuming (``on_poll_init``) and then only every ``unacked_restore_interval`` x ``unacked_restore_throttle``
seconds (10 x 10 by default), so the test starts the second worker only after the message has been
unacked for longer than the timeout and lets its start-up sweep find it.
"""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.db import connection

from studio.core.models import AuditEvent
from studio.generation import services
from studio.generation.models import Campaign, GenerationJob, JobStatus, Variant, VariantStatus
from studio.generation.pricing import price_for
from tests import factories as f
from tests.conftest import ROOT, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

VISIBILITY_TIMEOUT = 3
MOCK_LATENCY = 4.0
# Our own queue, so the session's shared worker (which consumes "celery") can never take this job.
QUEUE = "imprimatur-redelivery-test"
SECRET_ENV = "IMPRIMATUR_REDELIVERY_TEST_KEY"
USAGE = {
    "input_tokens": 50,
    "input_tokens_details": {"text_tokens": 50, "image_tokens": 0},
    "output_tokens": 272,
    "total_tokens": 322,
}


def _png(color: tuple[int, int, int]) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (1024, 1024), color).save(out, format="PNG")
    return out.getvalue()


class MockImagesServer(ThreadingHTTPServer):
    """`POST /v1/images/generations` answering after ``latency`` seconds with ``n`` real 1024x1024 PNGs."""

    daemon_threads = True

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.requests: list[float] = []  # arrival times
        self.lock = threading.Lock()
        self.images = [base64.b64encode(_png(color)).decode() for color in ((230, 120, 90), (20, 90, 160))]
        super().__init__(("127.0.0.1", 0), MockHandler)

    def handle_error(self, request, client_address):
        """The killed worker's connection is gone when the answer is written; that is expected here."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class MockHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802 - http.server API
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        with self.server.lock:
            self.server.requests.append(time.time())
            number = len(self.server.requests)
        time.sleep(self.server.latency)
        n = int(body.get("n") or 1)
        payload = json.dumps(
            {
                "created": int(time.time()),
                "data": [{"b64_json": self.server.images[i % 2]} for i in range(n)],
                "size": "1024x1024",
                "quality": "low",
                "output_format": "png",
                "background": "opaque",
                "usage": USAGE,
            }
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("x-request-id", f"req_{number}")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        return


@pytest.fixture
def mock_images():
    server = MockImagesServer(MOCK_LATENCY)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _clear_our_queue() -> None:
    """Drop what an aborted earlier run may have left for our queue (waiting or unacked), and nothing else:
    the redis DB is shared with the session's worker."""
    import redis
    from django.conf import settings
    from kombu.utils.json import loads

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete(QUEUE)
    for tag, raw in client.hgetall("unacked").items():
        _message, _exchange, routing_key = loads(raw)
        if routing_key == QUEUE:
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)


def _start_worker(name: str, log_path: Path, queues: str) -> subprocess.Popen:
    """A `celery worker` like the session fixture's, with a 3 s visibility timeout."""
    from django.conf import settings

    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "DJANGO_SETTINGS_MODULE": "studio.settings.test",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        SECRET_ENV: "sk-local-mock",
    }
    log = log_path.open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "studio",
            "worker",
            "--pool=threads",
            "--concurrency=2",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"{name}@%h",
            "-Q",
            queues,
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()  # the child holds its own descriptor
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"celery worker {name} exited early:\n{log_path.read_text()[-3000:]}")
        if "ready." in log_path.read_text():
            return proc
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"celery worker {name} did not become ready:\n{log_path.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def test_a_worker_killed_mid_job_is_redelivered_and_the_job_counts_once(
    marketer, campaign, profile, price_table, mock_images, tmp_path, monkeypatch
):
    from studio.core.outbox import services as outbox_services
    from studio.generation import tasks as studio_tasks

    real_send = outbox_services.task_send
    sent: list[int] = []

    def send_job_runs_to_our_queue(task_name, args, queue):
        """job_launch publishes ``job_run`` through the outbox after commit; send it to our own queue."""
        if task_name == studio_tasks.job_run.name:
            sent.append(args[0])
            queue = QUEUE
        real_send(task_name, args, queue)

    monkeypatch.setattr(outbox_services, "task_send", send_job_runs_to_our_queue)
    deployment = f.DeploymentFactory(
        workspace=campaign.workspace,
        profile=profile,
        name="mock-openai",
        provider="openai",
        endpoint=mock_images.url,
        model="gpt-image-2",
        secret_env=SECRET_ENV,
    )
    draft = services.draft_create(actor=marketer, campaign=campaign, title="Redelivery", text="Lemons at dawn")
    _clear_our_queue()
    first = second = None
    try:
        first = _start_worker("redelivery-first", tmp_path / "worker-first.log", QUEUE)
        # The worker's PID is the celery process itself (no shell in between): that is what we kill.
        assert b"celery" in Path(f"/proc/{first.pid}/cmdline").read_bytes()

        job = services.job_launch(
            actor=marketer,
            version=draft.versions.get(),
            request=services.LaunchRequest(
                deployment=deployment, target_width=1024, target_height=1024, n=2, quality="low"
            ),
        )
        assert sent == [job.pk]

        wait_for(lambda: mock_images.requests, timeout=30, message="the worker to call the images service")
        job.refresh_from_db()
        assert job.status == JobStatus.RUNNING
        assert job.attempts == 1
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        assert first.returncode == -signal.SIGKILL

        # The call the dead worker made is lost with it: no variants, no cost, the estimate still reserved.
        time.sleep(0.5)
        job.refresh_from_db()
        assert job.status == JobStatus.RUNNING
        assert not Variant.objects.filter(job=job).exists()
        assert Campaign.objects.get(pk=campaign.pk).reserved_cost == job.estimated_cost > 0

        # Start the second worker once the message has been unacked for longer than the visibility timeout,
        # so the sweep it makes on start-up moves the message back onto the queue.
        time.sleep(max(0.0, mock_images.requests[0] + VISIBILITY_TIMEOUT + 0.5 - time.time()))
        # It also takes the default queue, so the image screenings the job enqueues run before teardown
        # even when no session worker is running.
        second = _start_worker("redelivery-second", tmp_path / "worker-second.log", f"{QUEUE},celery")

        wait_for(
            lambda: len(mock_images.requests) >= 2,
            timeout=60,
            message="the redelivered job to call the images service again "
            f"(second worker log: {(tmp_path / 'worker-second.log').read_text()[-2000:]})",
        )

        def finished():
            job.refresh_from_db()
            return job.is_terminal

        wait_for(finished, timeout=60, message="the redelivered job to finish")
        wait_for(
            lambda: not Variant.objects.filter(job=job, status=VariantStatus.SAFETY_PENDING).exists(),
            timeout=60,
            message="image screening",
        )
    finally:
        _stop(first)
        _stop(second)

    assert job.status == JobStatus.SUCCEEDED, job.error_message
    assert job.attempts == 2
    # The images service was called twice: once by the killed worker, once after redelivery. The first
    # call's cost is unknowable to us (its answer, with its usage, died with the worker), so the job records
    # the call that produced its images: one call's cost, counted once.
    assert len(mock_images.requests) == 2
    price = price_for(model_name="gpt-image-2", provider="openai")
    one_call = ((50 * price.text_input + 272 * price.image_output) / 1_000_000).quantize(Decimal("0.000001"))
    assert one_call > 0
    assert job.actual_cost == one_call
    campaign.refresh_from_db()
    assert campaign.spent_cost == job.actual_cost == one_call
    assert campaign.reserved_cost == 0
    assert job.reserved_cost == 0

    variants = list(Variant.objects.filter(job=job).order_by("index"))
    assert [v.index for v in variants] == [0, 1]
    assert all((v.width, v.height) == (1024, 1024) for v in variants)
    assert all(v.status == VariantStatus.READY for v in variants)
    assert GenerationJob.objects.count() == 1
    assert AuditEvent.objects.filter(action="studio.job.succeeded").count() == 1
    assert AuditEvent.objects.filter(action="studio.variant.created").count() == 2
