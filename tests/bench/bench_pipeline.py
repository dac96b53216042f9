"""Pipeline vs bare SDK, against the same local OpenAI-compatible mock server.

    .venv/bin/python tests/bench/bench_pipeline.py [--jobs 200] [--concurrency 8] [--latency 1.0]

1. A mock `/v1/images/generations` server on 127.0.0.1 with a fixed latency and a concurrency cap returns a
   real 1024x1024 PNG (base64) and a real-shaped `usage`.
2. The real pipeline: services.job_launch -> Redis -> a `celery worker` subprocess (threads, same
   concurrency) -> OpenAI provider (openai SDK on httpx2) -> decode, hash, thumbnail, store -> cost -> image
   screening task. Timed from the first launch to the last job finished.
3. In the same run, a bare async `openai` SDK script at the same concurrency against the same mock.
4. CPU time per 1024x1024 image for decode, hash, thumbnail and store, in this process.
Prints both times, their ratio (goal <= 1.10) and the CPU time (goal <= 150 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def make_png(size: int = 1024) -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (size, size), (230, 120, 90))
    draw = ImageDraw.Draw(img)
    for i in range(0, size, 32):
        draw.line([(i, 0), (size - i, size)], fill=(20 + i % 200, 90, 160), width=3)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


class MockImagesServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, latency: float, cap: int):
        self.latency = latency
        self.slots = threading.Semaphore(cap)
        self.requests = 0
        png = make_png()
        self.body = json.dumps(
            {
                "created": int(time.time()),
                "data": [{"b64_json": base64.b64encode(png).decode()}],
                "size": "1024x1024",
                "quality": "low",
                "output_format": "png",
                "background": "opaque",
                "usage": {
                    "input_tokens": 50,
                    "input_tokens_details": {"text_tokens": 50, "image_tokens": 0},
                    "output_tokens": 272,
                    "total_tokens": 322,
                },
            }
        ).encode()
        super().__init__(("127.0.0.1", 0), MockHandler)


class MockHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802 - http.server API
        length = int(self.headers.get("content-length", 0))
        self.rfile.read(length)
        with self.server.slots:
            self.server.requests += 1
            time.sleep(self.server.latency)
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("x-request-id", f"req_{self.server.requests}")
        self.send_header("content-length", str(len(self.server.body)))
        self.end_headers()
        self.wfile.write(self.server.body)

    def log_message(self, *args):
        return


async def bare_sdk(base_url: str, jobs: int, concurrency: int) -> float:
    import httpx2
    from openai import AsyncOpenAI

    client = AsyncOpenAI(
        base_url=base_url,
        api_key="bench",
        max_retries=0,
        http_client=httpx2.AsyncClient(timeout=60, limits=httpx2.Limits(max_connections=concurrency)),
    )
    gate = asyncio.Semaphore(concurrency)

    async def one(i):
        async with gate:
            result = await client.images.generate(model="gpt-image-2", prompt=f"bench {i}", size="1024x1024", n=1)
            base64.b64decode(result.data[0].b64_json)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(jobs)))
    elapsed = time.perf_counter() - started
    await client.close()
    return elapsed


def setup_django(db_name: str):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings.test")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    connection.settings_dict["TEST"]["NAME"] = db_name
    real_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    return real_name


def start_worker(db_url: str, media: str, concurrency: int, log: Path) -> subprocess.Popen:
    """The worker gets two threads beyond the provider concurrency: post-processing tasks (image safety
    screening) share the worker, and should not hold a provider slot's thread while a call could start."""
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "MEDIA_ROOT": media,
        "DJANGO_SETTINGS_MODULE": "studio.settings.test",
        "BENCH_OPENAI_KEY": "bench",
        "LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "studio",
            "worker",
            "--pool=threads",
            f"--concurrency={concurrency + 2}",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-E",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    time.sleep(4)
    return proc


def cpu_per_image(samples: int = 20) -> dict[str, float]:
    """CPU time (this process) per 1024x1024 PNG for decode, hash, thumbnail and store."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from PIL import Image

    from studio.generation.services import thumbnail_make as _thumbnail

    png = make_png()
    totals = {"decode": 0.0, "hash": 0.0, "thumbnail": 0.0, "store": 0.0}
    for i in range(samples):
        t = time.process_time()
        with Image.open(io.BytesIO(png)) as img:
            img.load()
        totals["decode"] += time.process_time() - t
        t = time.process_time()
        digest = hashlib.sha256(png + bytes([i])).hexdigest()
        totals["hash"] += time.process_time() - t
        t = time.process_time()
        thumb = _thumbnail(png)
        totals["thumbnail"] += time.process_time() - t
        t = time.process_time()
        default_storage.save(f"bench/{digest}.png", ContentFile(png))
        default_storage.save(f"bench/{digest}.webp", ContentFile(thumb))
        totals["store"] += time.process_time() - t
    per = {k: v * 1000 / samples for k, v in totals.items()}
    per["total"] = sum(per.values())
    return per


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency", type=float, default=1.0)
    args = parser.parse_args()
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpx2").setLevel(logging.WARNING)

    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/imprimatur")
    os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/13")
    media = tempfile.mkdtemp(prefix="bench-media-")
    os.environ["MEDIA_ROOT"] = media
    os.environ["BENCH_OPENAI_KEY"] = "bench"

    server = MockImagesServer(args.latency, args.concurrency)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"

    db_name = setup_django("imprimatur_bench_pipeline")
    from decimal import Decimal

    import redis
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection

    from studio.core.models import Membership, Workspace
    from studio.generation import services
    from studio.generation.catalog import catalog_sync
    from studio.generation.models import Campaign, CapabilityProfile, Deployment, GenerationJob

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    catalog_sync()
    user = get_user_model().objects.create_user("bench", password="x")
    workspace = Workspace.objects.create(name="Bench", slug="bench")
    Membership.objects.create(user=user, workspace=workspace, role="marketer")
    campaign = Campaign.objects.create(workspace=workspace, name="Bench", slug="bench", budget=Decimal("100000"))
    deployment = Deployment.objects.create(
        workspace=workspace,
        name="mock",
        provider="openai",
        endpoint=base_url,
        model="gpt-image-2",
        secret_env="BENCH_OPENAI_KEY",
        profile=CapabilityProfile.objects.get(name="gpt-image-2"),
        # The deployment's shared limit is the mock's cap, as the bare SDK's semaphore is: the default (4)
        # would halve the pipeline's concurrency and measure the limit, not the pipeline.
        max_concurrency=args.concurrency,
    )
    draft = services.draft_create(actor=user, campaign=campaign, title="bench", text="A bench of lemons")
    version = draft.versions.get()
    db = connection.settings_dict
    db_url = f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db_name}"
    log = Path(media) / "worker.log"
    worker = start_worker(db_url, media, args.concurrency, log)
    try:
        print(
            f"Running {args.jobs} generations, concurrency {args.concurrency}, mock latency {args.latency}s", flush=True
        )
        started = time.perf_counter()
        for _ in range(args.jobs):
            services.job_launch(
                actor=user,
                version=version,
                request=services.LaunchRequest(
                    deployment=deployment, target_width=1024, target_height=1024, n=1, quality="low"
                ),
            )
        deadline = time.monotonic() + args.jobs * args.latency * 4 + 120
        while time.monotonic() < deadline:
            open_jobs = GenerationJob.objects.exclude(status__in=["succeeded", "failed", "blocked"]).count()
            if open_jobs == 0:
                break
            time.sleep(0.1)
        pipeline = time.perf_counter() - started
        failed = GenerationJob.objects.exclude(status="succeeded").count()
        bare = asyncio.run(bare_sdk(base_url, args.jobs, args.concurrency))
        ideal = args.jobs / args.concurrency * args.latency
        cpu = cpu_per_image()
        print(f"pipeline: {pipeline:.2f} s for {args.jobs} jobs ({failed} not succeeded)")
        print(f"bare SDK: {bare:.2f} s (ideal {ideal:.2f} s)")
        print(f"ratio pipeline/bare: {pipeline / bare:.3f}  (goal <= 1.10)")
        print(
            "CPU per 1024x1024 image: "
            + ", ".join(f"{k} {v:.1f} ms" for k, v in cpu.items())
            + "  (goal total <= 150 ms)"
        )
        return 0 if failed == 0 else 1
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        server.shutdown()
        connection.creation.destroy_test_db(db_name, verbosity=0)


if __name__ == "__main__":
    sys.exit(main())
