"""Where a production-run cell's worker CPU goes: cells run one after another in this process.

    .venv/bin/python tests/bench/profile_cell.py [--cells 100] [--top 30] [--screen]

The same path a worker thread takes (``runs.cell_run`` -> ``cell_execute`` -> the OpenAI provider on the
SDK -> store -> record -> outbox publish to Redis), against bench_runs' mock Images API with no latency, so
the wall time here is CPU (this process's, PostgreSQL's and Redis's). Prints CPU per cell in this process,
SQL queries per cell, and the functions that cost the most (cProfile, by own time and cumulative).
``--screen`` also runs each new variant's image screening inline, as the worker would next.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.bench_runs import SECRET_ENV, MockImagesServer, setup_django  # noqa: E402


def main() -> int:  # noqa: PLR0915 - one linear script
    parser = argparse.ArgumentParser()
    parser.add_argument("--cells", type=int, default=100)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--screen", action="store_true")
    parser.add_argument("--plain", action="store_true", help="no profiler: the CPU figures as they are")
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/imprimatur")
    os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/12")
    os.environ["MEDIA_ROOT"] = tempfile.mkdtemp(prefix="profile-cell-media-")
    os.environ[SECRET_ENV] = "bench"
    os.environ["LOG_LEVEL"] = "WARNING"
    server = MockImagesServer(0.0, 10_000)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    db_name = setup_django(os.environ.get("PROFILE_CELL_DB", "imprimatur_profile_cell"))
    import logging
    from decimal import Decimal

    import redis
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from studio.core.models import Membership, Workspace
    from studio.generation import services as studio_services
    from studio.generation.catalog import catalog_sync
    from studio.generation.models import Campaign, CampaignFormat, CapabilityProfile, Deployment, Variant
    from studio.generation.screening import variant_rescreen
    from studio.runs import services
    from studio.runs.models import RunCell
    from studio.runs.planning import RunSpec

    for noisy in ("httpx", "httpx2", "openai"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    try:
        catalog_sync()
        user = get_user_model().objects.create_user("bench", password="x")
        workspace = Workspace.objects.create(name="Bench", slug="bench")
        Membership.objects.create(user=user, workspace=workspace, role="marketer")
        locales = [f"l{i:02d}" for i in range(10)]
        campaign = Campaign.objects.create(
            workspace=workspace, name="Bench", slug="bench", budget=Decimal("100000"), locales=locales
        )
        formats = [
            CampaignFormat.objects.create(campaign=campaign, name=f"F{i}", width=1024, height=1024)
            for i in range(-(-(args.cells + 10) // len(locales)))
        ]
        deployment = Deployment.objects.create(
            workspace=workspace, name="mock", provider="openai",
            endpoint=f"http://127.0.0.1:{server.server_address[1]}/v1", model="gpt-image-2", secret_env=SECRET_ENV,
            profile=CapabilityProfile.objects.get(name="gpt-image-2"), max_concurrency=16, request_timeout_seconds=30,
        )  # fmt: skip
        draft = studio_services.draft_create(
            actor=user, campaign=campaign, title="bench", text="A bench of lemons",
            locale_copy={loc: f"Spring sale {loc}" for loc in locales},
        )  # fmt: skip
        spec = RunSpec(
            campaign=campaign, deployment=deployment, formats=formats, locales=locales, n=1, quality="low",
            version=draft.versions.get(),
        )  # fmt: skip
        prep0 = time.process_time()
        run = services.run_launch(actor=user, spec=spec, enqueue=False)
        prep_cpu = time.process_time() - prep0
        cells = list(RunCell.objects.filter(run=run).order_by("pk").values_list("pk", flat=True))
        warm, measured = cells[:10], cells[10 : 10 + args.cells]
        for cell_id in warm:  # imports, SDK client, prepared statements: not per-cell cost
            services.cell_execute(cell_id=cell_id)
        profile = cProfile.Profile(time.process_time)  # CPU, not wall: waiting on PostgreSQL is not ours
        if args.plain:
            profile.enable = profile.disable = lambda: None
        with CaptureQueriesContext(connection) as queries:
            cpu0, wall0 = time.process_time(), time.perf_counter()
            profile.enable()
            for cell_id in measured:
                services.cell_execute(cell_id=cell_id)
            profile.disable()
            cpu1, wall1 = time.process_time(), time.perf_counter()
        cell_sql = list(queries.captured_queries)
        cell_queries = len(cell_sql)
        screen_cpu = screen_queries = 0.0
        screen_sql: list = []
        if args.screen:
            job_ids = RunCell.objects.filter(pk__in=measured).values("job_id")
            variant_ids = list(Variant.objects.filter(job_id__in=job_ids).values_list("pk", flat=True))
            with CaptureQueriesContext(connection) as queries:
                s0 = time.process_time()
                profile.enable()
                for pk in variant_ids:
                    variant_rescreen(variant_id=pk)
                profile.disable()
                screen_cpu = time.process_time() - s0
            screen_sql = list(queries.captured_queries)
            screen_queries = len(screen_sql)
        n = len(measured)
        print(f"{n} cells in one process, no provider latency")
        print(f"cell: {(cpu1 - cpu0) * 1000 / n:.1f} ms CPU here, {(wall1 - wall0) * 1000 / n:.1f} ms wall, "
              f"{cell_queries / n:.1f} queries per cell"
              + ("" if args.plain else " (profiler on: CPU is inflated ~1.5-2x)"))  # fmt: skip
        print(f"launch and preparation: {prep_cpu * 1000 / run.cells.count():.1f} ms CPU per cell")
        if args.screen:
            print(f"image screening: {screen_cpu * 1000 / n:.1f} ms CPU, {screen_queries / n:.1f} queries per variant")
        if os.environ.get("PROFILE_CELL_DUMP"):
            profile.dump_stats(os.environ["PROFILE_CELL_DUMP"])
        if not args.plain:
            stats = pstats.Stats(profile)
            stats.sort_stats("tottime").print_stats(args.top)
            stats.sort_stats("cumulative").print_stats(args.top)
        if os.environ.get("PROFILE_CELL_SQL"):
            from collections import Counter

            for label, captured in (("cell", cell_sql), ("image screening", screen_sql)):
                print(f"SQL per {label}:")
                shapes = Counter(q["sql"].split(" WHERE ")[0][:140] for q in captured)
                for sql, count in shapes.most_common(40):
                    if count >= n:
                        print(f"{count / n:5.1f}  {sql}")
        return 0
    finally:
        server.shutdown()
        connection.close()
        connection.creation.destroy_test_db(db_name, verbosity=0)


if __name__ == "__main__":
    sys.exit(main())
