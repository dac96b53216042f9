"""Fault run (issue 10): jobs through a real worker that is SIGKILLed mid-batch and restarted, while a
marketer creates drafts, and while the mock image server is down for a minute.

    .venv/bin/python tests/bench/bench_faults.py

1. Creates its own PostgreSQL database (``imprimatur_bench_faults``, from DATABASE_URL), migrated; the
   broker is CELERY_BROKER_URL (Redis) on a queue of its own, so no other worker takes its messages.
2. Starts a local OpenAI-compatible images server (``BENCH_FAULTS_LATENCY`` s per call) and a real
   ``celery worker -B`` (threads; beat runs ``jobs_sweep`` every ``BENCH_FAULTS_SWEEP_EVERY`` s) with a
   short visibility timeout (``BENCH_FAULTS_VISIBILITY`` s; the job lease follows it).
3. Launches ``BENCH_FAULTS_JOBS`` jobs (the outbox publishes them after each commit) while a thread
   creates drafts on the same campaign. When a quarter of them have finished it SIGKILLs the worker
   (calls in flight die with it), restarts it after 2 s, and when half have finished it stops the image
   server for ``BENCH_FAULTS_OUTAGE_SECONDS`` (the breaker opens, the jobs wait within their retry budget).
4. Waits (at most ``BENCH_FAULTS_TIMEOUT`` s) for every job to end and every image to be screened, then
   prints: jobs succeeded / failed / stuck, duplicate variants, cost settled vs billed, time from the
   restart to the last job finished, and the repairs the sweeper made. Goals: 0 stuck, 0 duplicates,
   cost settled once per settled success. Exits 1 when a goal is missed.

Every duration is an environment variable, so a scaled-down run fits a short slot; the defaults are the
issue's (100 jobs, a 60 s outage). Drops the database at the end.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

TEST_DB = "imprimatur_bench_faults"
QUEUE = "imprimatur-bench-faults"
SECRET_ENV = "IMPRIMATUR_KEY_BENCH_FAULTS"


def _env(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


JOBS = int(_env("BENCH_FAULTS_JOBS", 100))
LATENCY = _env("BENCH_FAULTS_LATENCY", 1.0)
OUTAGE = _env("BENCH_FAULTS_OUTAGE_SECONDS", 60)
VISIBILITY = int(_env("BENCH_FAULTS_VISIBILITY", 90))
COOL_DOWN = _env("BENCH_FAULTS_COOL_DOWN", 15)
SWEEP_EVERY = _env("BENCH_FAULTS_SWEEP_EVERY", 10)
TIMEOUT = _env("BENCH_FAULTS_TIMEOUT", 900)
CONCURRENCY = int(_env("BENCH_FAULTS_CONCURRENCY", 4))
USAGE = {
    "input_tokens": 50,
    "input_tokens_details": {"text_tokens": 50, "image_tokens": 0},
    "output_tokens": 272,
    "total_tokens": 322,
}
REPAIRS = (
    "core.outbox.republished",
    "studio.job.requeued",
    "studio.variant.rescreen_requeued",
    "studio.job.reservation_released",
)

# The worker: the project's Celery app with the bench's queue as its default (so what it publishes, image
# checks and retries included, stays on it), beat running the sweeper often, and a short breaker cool-down.
WORKER = """
import os, sys
import django
django.setup()
from django.conf import settings
settings.IMPRIMATUR_BREAKER_COOL_DOWN_SECONDS = float(os.environ["BENCH_COOL_DOWN"])
from studio.celery import app
app.conf.task_default_queue = os.environ["BENCH_QUEUE"]
app.conf.beat_schedule = {
    "jobs-sweep": {"task": "studio.tasks.jobs_sweep", "schedule": float(os.environ["BENCH_SWEEP_EVERY"])}
}
app.worker_main(sys.argv[1:])
"""


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (1024, 1024), (230, 120, 90)).save(out, format="PNG")
    return out.getvalue()


class ImagesServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, image: str, answered: list, down: threading.Event) -> None:
        self.image = image
        self.answered = answered  # (time, request id) of every 200 written: what the provider billed
        self.down = down  # set during the outage: even kept-alive connections are dropped
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", port), Handler)

    def handle_error(self, request, client_address):
        """A killed worker's connection is gone when the answer is written: expected here."""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _drop(self) -> None:
        """The server is gone: the client's pooled connection breaks without an answer."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def do_POST(self):  # noqa: N802 - http.server API
        self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.server.down.is_set():
            self._drop()
            return
        time.sleep(LATENCY)
        if self.server.down.is_set():
            self._drop()
            return
        with self.server.lock:
            number = len(self.server.answered) + 1
            self.server.answered.append((time.time(), number))
        payload = json.dumps(
            {"created": int(time.time()), "data": [{"b64_json": self.server.image}], "usage": USAGE}
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("x-request-id", f"req_{number}")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        return


class MockImages:
    """The image server, stoppable and restartable on the same port (an outage, then recovery)."""

    def __init__(self) -> None:
        self.image = base64.b64encode(_png()).decode()
        self.answered: list = []
        self.down = threading.Event()
        self.server: ImagesServer | None = None
        self.port = 0
        self.start()

    def start(self) -> None:
        self.down.clear()
        self.server = ImagesServer(self.port, self.image, self.answered, self.down)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.down.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


def _setup():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings.test")
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/imprimatur")
    os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/13")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
    os.environ["CELERY_VISIBILITY_TIMEOUT"] = str(VISIBILITY)
    os.environ[SECRET_ENV] = "sk-bench-mock"
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    if connection.vendor != "postgresql" or not settings.CELERY_BROKER_URL.startswith("redis"):
        raise SystemExit("bench_faults needs PostgreSQL and Redis (DATABASE_URL, CELERY_BROKER_URL)")
    settings.IMPRIMATUR_ALLOW_HTTP_ENDPOINTS = True
    from studio.celery import app

    app.conf.task_default_queue = QUEUE
    connection.settings_dict.setdefault("TEST", {})["NAME"] = TEST_DB
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    return connection, old_name


def _clear_queue() -> None:
    import redis
    from django.conf import settings
    from kombu.utils.json import loads

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete(QUEUE)
    for tag, raw in client.hgetall("unacked").items():
        if loads(raw)[2] == QUEUE:
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)


def _start_worker(name: str, log: Path, schedule: Path) -> subprocess.Popen:
    from django.db import connection

    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
        f"{db['NAME']}",
        "BENCH_QUEUE": QUEUE,
        "BENCH_COOL_DOWN": str(COOL_DOWN),
        "BENCH_SWEEP_EVERY": str(SWEEP_EVERY),
    }
    args = [
        "worker",
        "-B",
        "--schedule",
        str(schedule),
        "--pool=threads",
        f"--concurrency={CONCURRENCY}",
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-n",
        f"{name}@%h",
        "-Q",
        QUEUE,
    ]
    with log.open("w") as out:
        # Its own process group: the embedded beat is a child process, and a lost host loses both.
        proc = subprocess.Popen(
            [sys.executable, "-c", WORKER, *args],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"worker {name} exited early:\n{log.read_text()[-3000:]}")
        if "ready." in log.read_text():
            return proc
        time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"worker {name} did not become ready:\n{log.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen | None) -> None:
    """Stop a worker started here and its beat child (its own process group, by the worker's pid)."""
    if proc is None:
        return
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # whatever of its group is left (an orphaned beat)


def _seed(images: MockImages):
    from django.contrib.auth import get_user_model

    from studio.core.models import Membership, Role, Workspace
    from studio.generation import services
    from studio.generation.catalog import catalog_sync
    from studio.generation.models import Campaign, CapabilityProfile, Deployment

    catalog_sync()
    workspace = Workspace.objects.create(name="Faults", slug="faults")
    marketer = get_user_model().objects.create_user("faults-marketer", password="x")
    Membership.objects.create(user=marketer, workspace=workspace, role=Role.MARKETER)
    campaign = Campaign.objects.create(workspace=workspace, name="Faults", slug="faults", budget=Decimal(10_000))
    deployment = Deployment.objects.create(
        workspace=workspace,
        name="mock-openai",
        provider="openai",
        endpoint=images.url,
        model="gpt-image-2",
        secret_env=SECRET_ENV,
        profile=CapabilityProfile.objects.get(name="gpt-image-2"),
        request_timeout_seconds=30,
        retry_budget_seconds=600,
        max_concurrency=CONCURRENCY,
    )
    draft = services.draft_create(actor=marketer, campaign=campaign, title="Faults", text="Lemons at dawn")
    return marketer, campaign, deployment, draft.versions.get()


def _finished(job_ids: list[int]) -> int:
    from studio.generation.models import JOB_TERMINAL, GenerationJob

    return GenerationJob.objects.filter(pk__in=list(job_ids), status__in=JOB_TERMINAL).count()


def _wait_until(predicate, deadline: float) -> bool:
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


def run() -> int:  # noqa: PLR0915 - one scenario, told in order
    connection, old_name = _setup()
    from django.db.models import Count

    from studio.core.models import AuditEvent
    from studio.generation import services
    from studio.generation.models import JOB_TERMINAL, GenerationJob, JobStatus, Variant, VariantStatus

    tmp = Path(tempfile.mkdtemp(prefix="bench-faults-"))
    images = MockImages()
    worker = None
    stop_drafts = threading.Event()
    draft_counts = {"created": 0, "errors": 0}
    try:
        _clear_queue()
        marketer, campaign, deployment, version = _seed(images)
        worker = _start_worker("faults-first", tmp / "worker-1.log", tmp / "beat-1")

        def make_drafts():
            n = 0
            while not stop_drafts.is_set():
                n += 1
                try:
                    services.draft_create(actor=marketer, campaign=campaign, title=f"Draft {n}", text="More lemons")
                    draft_counts["created"] += 1
                except Exception:  # noqa: BLE001 - counted: a marketer would have seen a 500
                    draft_counts["errors"] += 1
                time.sleep(0.05)
            connection.close()

        drafts = threading.Thread(target=make_drafts)
        drafts.start()
        started = time.monotonic()
        deadline = started + TIMEOUT
        request = services.LaunchRequest(
            deployment=deployment, target_width=1024, target_height=1024, n=1, quality="low"
        )
        job_ids: list[int] = []

        def launch_all():
            # Launched while the faults happen, as a marketer's batch would be.
            for _ in range(JOBS):
                job_ids.append(services.job_launch(actor=marketer, version=version, request=request).pk)
            print(f"launched {JOBS} jobs in {time.monotonic() - started:.1f}s", flush=True)
            connection.close()

        launcher = threading.Thread(target=launch_all)
        launcher.start()

        _wait_until(lambda: _finished(job_ids) >= JOBS // 4, deadline)
        os.killpg(worker.pid, signal.SIGKILL)  # the worker and its beat, as when the host is lost
        worker.wait(timeout=10)
        killed_at = time.monotonic()
        in_flight = GenerationJob.objects.filter(pk__in=list(job_ids), status=JobStatus.RUNNING).count()
        print(f"SIGKILLed the worker at {_finished(job_ids)} finished ({in_flight} running)", flush=True)
        time.sleep(2)
        worker = _start_worker("faults-second", tmp / "worker-2.log", tmp / "beat-2")
        restarted = time.monotonic()
        print(f"restarted the worker after {restarted - killed_at:.1f}s", flush=True)

        _wait_until(lambda: _finished(job_ids) >= JOBS // 2, deadline)
        images.stop()
        print(f"image server stopped for {OUTAGE:g}s at {_finished(job_ids)} finished", flush=True)
        time.sleep(OUTAGE)
        images.start()
        deployment.refresh_from_db()
        print(
            f"image server back; breaker: {deployment.consecutive_failures} failures, "
            f"open until {deployment.circuit_open_until}",
            flush=True,
        )

        def all_done():
            return (
                len(job_ids) == JOBS
                and _finished(job_ids) == JOBS
                and not Variant.objects.filter(job_id__in=job_ids, status=VariantStatus.SAFETY_PENDING).exists()
            )

        launcher.join(timeout=max(1.0, deadline - time.monotonic()))
        done = _wait_until(all_done, deadline)
        stop_drafts.set()
        drafts.join(timeout=30)

        jobs = GenerationJob.objects.filter(pk__in=job_ids)
        succeeded = jobs.filter(status=JobStatus.SUCCEEDED).count()
        failed = jobs.filter(status__in=[JobStatus.FAILED, JobStatus.BLOCKED]).count()
        stuck = jobs.exclude(status__in=JOB_TERMINAL).count()
        pending_images = Variant.objects.filter(job_id__in=job_ids, status=VariantStatus.SAFETY_PENDING).count()
        per_job = jobs.annotate(v=Count("variants")).values_list("v", flat=True)
        duplicates = sum(max(0, v - 1) for v in per_job)
        campaign.refresh_from_db()
        one_call = jobs.filter(status=JobStatus.SUCCEEDED).values_list("actual_cost", flat=True).first() or Decimal(0)
        billed_calls = len(images.answered)
        settled_events = AuditEvent.objects.filter(action="studio.job.succeeded").count()
        last_finish = jobs.order_by("-finished_at").values_list("finished_at", flat=True).first()
        restart_wall = time.time() - (time.monotonic() - restarted)
        repairs = {a: AuditEvent.objects.filter(action=a).count() for a in REPAIRS}
        print()
        print(
            f"jobs: {succeeded} succeeded / {failed} failed / {stuck} stuck (of {JOBS}); images still pending: "
            f"{pending_images}{'' if done else ' (TIMED OUT waiting)'}"
        )
        print(f"duplicate variants: {duplicates}")
        print(
            f"cost: settled {campaign.spent_cost} for {succeeded} jobs ({settled_events} settlements); the provider "
            f"billed {billed_calls} answered calls = {one_call * billed_calls} "
            f"({billed_calls - settled_events} answered calls lost with the killed worker or timed out); "
            f"reserved left {campaign.reserved_cost}"
        )
        if last_finish is not None:
            print(f"time from restart to last job finished: {last_finish.timestamp() - restart_wall:.1f}s")
        print("sweeper repairs: " + ", ".join(f"{a} {n}" for a, n in repairs.items()))
        print(f"drafts created meanwhile: {draft_counts['created']} ({draft_counts['errors']} errors)")
        print(f"worker logs: {tmp}")
        ok = (
            stuck == 0
            and duplicates == 0
            and settled_events == succeeded
            and campaign.spent_cost == one_call * succeeded
            and draft_counts["errors"] == 0
        )
        print(
            "goals (0 stuck, 0 duplicates, settled once per success, no draft errors): " + ("met" if ok else "MISSED")
        )
        return 0 if ok else 1
    finally:
        stop_drafts.set()
        _stop(worker)
        images.stop()
        _clear_queue()
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    sys.exit(run())
