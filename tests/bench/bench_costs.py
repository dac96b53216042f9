"""Cost truth at scale: the cost dashboard over 1M jobs / 4M variants, and the calibrated estimator.

    .venv/bin/python tests/bench/bench_costs.py  [COSTS_BENCH_JOBS=1000000 COSTS_BENCH_WORKSPACES=10]

1. Creates its own PostgreSQL database (``test_imprimatur_costs_bench`` next to ``DATABASE_URL``), migrated.
2. Estimator: a mock image service whose output tokens depend on size and quality by a function the
   estimator is not told (a power law with a quality factor, an aspect-ratio term and +-3% noise). Per
   (quality, pixel class) it records 20 calls at random sizes of the class, then estimates 20 new calls
   and prints the median absolute error of the estimated tokens (and cost) against the mock's answer
   (goal <= 10%); the profile-default baseline is printed beside it.
3. Seeds COSTS_BENCH_JOBS jobs with 4 variants each (in SQL, ``generate_series``), spread over
   COSTS_BENCH_WORKSPACES workspaces, 20 campaigns each, 180 days; their cost rows (``JobCost``), one
   approved asset per three jobs (``AssetCost``), a decided review per approved asset and an open one per
   thirty jobs (``tests/bench/costs_seed.py``), then builds the rollups (``CostBreakdownDay``,
   ``CostHistogramDay``) from those rows with ``rollups_rebuild``, the service a deploy's first catch-up
   runs (the unit tests prove it equals the per-job upserts and a recomputation). Then records 200 more
   jobs and 50 approvals through the real hooks on top.
4. Times the workspace and campaign pages (30-day and 180-day ranges) through the test client, rendering
   included, and the ``cost_report --json`` object: p50/p95, this process's CPU time and queries (goal
   p95 <= 150 ms). COSTS_BENCH_PROFILE=1 prints EXPLAIN ANALYZE of every query of one request; =2 adds a
   Python profile.
Drops the database at the end, unless COSTS_BENCH_KEEP=1 (the next run with the same sizes reuses it;
COSTS_BENCH_REBUILD=1 rebuilds the rollups of a kept database).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.costs_seed import (  # noqa: E402 - after the path is set
    DAYS,
    JOBS,
    REVIEWS_MARK,
    SEED_MARK,
    WORKSPACES,
    mark_seeded,
    rebuild,
    seed,
    seed_reviews,
    seeded,
)

REQUESTS = int(os.environ.get("COSTS_BENCH_REQUESTS", "30"))
# COSTS_BENCH_KEEP=1 keeps the seeded database for the next run (which migrates it and reuses the seed if
# it was made with the same sizes): seeding a million jobs takes minutes on a small machine.
KEEP = os.environ.get("COSTS_BENCH_KEEP") == "1"


def _setup():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings.test")
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/imprimatur_costs")
    os.environ["IMPRIMATUR_VAR_DIR"] = "/tmp/imprimatur-costs-bench"
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    if connection.vendor != "postgresql":
        sys.exit("bench_costs needs PostgreSQL (set DATABASE_URL)")
    setup_test_environment()
    connection.settings_dict.setdefault("TEST", {})["NAME"] = os.environ.get(
        "COSTS_BENCH_DB", "test_imprimatur_costs_bench"
    )
    old = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=KEEP)
    return connection, old


# --- 2. the estimator against a mock it does not know ---------------------------------------------------

QUALITY_FACTOR = {"low": 0.27, "medium": 1.0, "high": 3.9}
SIZES_BY_CLASS = {
    1: [(1024, 1024), (1152, 896), (896, 1152), (1216, 832), (832, 1216), (1024, 768), (1200, 640), (1344, 768)],
    2: [(1536, 1024), (1024, 1536), (1600, 1200), (1792, 1024), (1408, 1408), (1920, 1088)],
    4: [(2048, 2048), (2560, 1440), (1440, 2560), (2304, 1728), (2688, 1536)],
    8: [(3840, 2160), (2160, 3840), (3328, 2496), (2880, 2880)],
}


def mock_tokens(width: int, height: int, quality: str, rng: random.Random) -> int:
    """The service's answer: the estimator never sees this function."""
    pixels = width * height
    aspect = max(width, height) / min(width, height)
    base = 410 * (pixels / 1_000_000) ** 0.87 * QUALITY_FACTOR[quality] * (1 + 0.06 * math.log(aspect))
    return max(16, int(base * rng.uniform(0.97, 1.03)))


def bench_estimator() -> None:
    """In a transaction rolled back at the end, so a kept database does not accumulate its history."""
    from django.db import transaction

    with transaction.atomic():
        _bench_estimator()
        transaction.set_rollback(True)


def _bench_estimator() -> None:
    from studio.generation.models import JobStatus
    from studio.generation.services.calibration import calibrate, calibrated_estimate
    from studio.lib.pricing import cost_of_usage, planned_usage
    from studio.lib.providers.base import Usage
    from tests import factories as f

    rng = random.Random(12)
    profile = f.CapabilityProfileFactory(
        name="bench-model", default_output_tokens={"low": 272, "medium": 1056, "high": 4160, "auto": 1056}
    )
    price = f.PriceTableFactory(model_name="bench-model")
    workspace = f.WorkspaceFactory(slug="bench-estimator")
    deployment = f.DeploymentFactory(workspace=workspace, profile=profile, name="bench-mock")
    version = f.DraftVersionFactory(draft__campaign__workspace=workspace, draft__workspace=workspace)
    errors, cost_errors, baseline = [], [], []
    worst = []
    for quality in QUALITY_FACTOR:
        for mp, sizes in SIZES_BY_CLASS.items():
            for _ in range(20):  # 20 recorded calls of the class
                w, h = rng.choice(sizes)
                f.GenerationJobFactory(
                    draft_version=version,
                    deployment=deployment,
                    status=JobStatus.SUCCEEDED,
                    planned_width=w,
                    planned_height=h,
                    params={"quality": quality},
                    usage=Usage(output_image_tokens=mock_tokens(w, h, quality, rng)).as_dict(),
                )
            class_errors = []
            for _ in range(20):  # 20 new calls, estimated before they run
                w, h = rng.choice(sizes)
                truth = mock_tokens(w, h, quality, rng)
                cal = calibrate(profile=profile, quality=quality, width=w, height=h)
                estimate = calibrated_estimate(
                    deployment=deployment, quality=quality, width=w, height=h, n=1, prompt="x" * 400
                )
                actual = cost_of_usage(planned_usage(tokens_per_image=truth, n=1, prompt="x" * 400), price)
                error = abs(cal.tokens_per_image - truth) / truth * 100
                class_errors.append(error)
                cost_errors.append(float(abs(estimate.amount - actual) / actual * 100))
                default = profile.default_output_tokens[quality] * w * h / (1024 * 1024)
                baseline.append(abs(default - truth) / truth * 100)
            errors += class_errors
            worst.append((statistics.median(class_errors), quality, mp))
    worst.sort(reverse=True)
    print(
        f"estimator: {len(errors)} estimates over {len(worst)} classes (quality x pixel class), 20 recorded calls each"
    )
    print(f"  median absolute error, output tokens: {statistics.median(errors):.2f}%  (goal <= 10%)")
    print(f"  median absolute error, cost:          {statistics.median(cost_errors):.2f}%")
    print(f"  p90 absolute error, output tokens:    {sorted(errors)[int(len(errors) * 0.9)]:.2f}%")
    print(f"  baseline (profile defaults, no calibration): {statistics.median(baseline):.2f}%")
    print("  worst classes: " + ", ".join(f"{q} ~{mp} MP {e:.1f}%" for e, q, mp in worst[:3]))


def _hooks_on_top(workspace_slug: str) -> None:
    """200 jobs and 50 approvals through the real settle and transition paths (the hooks), on top."""
    from django.test.utils import CaptureQueriesContext  # noqa: F401 - keeps the import cost out of timings

    from studio.core.models import Workspace
    from studio.generation.models import Campaign, Deployment
    from tests.costs.conftest import Ledger

    class Hooks:  # on_commit callbacks run for real here (no test transaction around the bench)
        def __call__(self, execute=True):
            from contextlib import nullcontext

            return nullcontext()

    workspace = Workspace.objects.get(slug=workspace_slug)
    from django.contrib.auth import get_user_model

    ledger = Ledger(
        workspace=workspace,
        campaign=Campaign.objects.filter(workspace=workspace).first(),
        deployment=Deployment.objects.filter(workspace=workspace).first(),
        user=get_user_model().objects.get(username="bench-marketer"),
        hooks=Hooks(),
    )
    started = time.perf_counter()
    for i in range(50):
        version = ledger.version()
        jobs = [ledger.job(version, "0.04", n=1) for _ in range(4)]
        ledger.decide(jobs[i % 4].made[0])
    print(f"hooks: 200 jobs + 50 approvals recorded through the real paths in {time.perf_counter() - started:.1f} s")


def _time_catch_up() -> None:
    """The periodic task when the hooks missed nothing: what it costs every five minutes at this size."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from approvals.costs.services import costs_catch_up

    costs_catch_up()
    with CaptureQueriesContext(connection) as ctx:
        start, start_cpu = time.perf_counter(), time.process_time()
        counts = costs_catch_up()
        wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    print(f"catch-up with nothing missed: {wall * 1000:.0f} ms (cpu {cpu * 1000:.0f} ms), {len(ctx)} queries, {counts}")
    if os.environ.get("COSTS_BENCH_PROFILE"):
        _explain(ctx.captured_queries[:12])  # the scans; then a few queries per refreshed draft


def _explain(queries: list[dict]) -> None:
    """EXPLAIN ANALYZE of every SELECT one request ran: execution time and the plan's top nodes."""
    from django.db import connection

    with connection.cursor() as cur:
        for q in queries:
            sql = q["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
            plan = cur.fetchone()[0][0]
            nodes, stack = [], [(plan["Plan"], 0)]
            while stack and len(nodes) < 3:
                node, depth = stack.pop(0)
                name = node["Node Type"] + (f" on {node['Relation Name']}" if "Relation Name" in node else "")
                index = f" using {node['Index Name']}" if "Index Name" in node else ""
                nodes.append(f"{name}{index} rows={node.get('Actual Rows')}")
                stack.extend((child, depth + 1) for child in node.get("Plans", []))
            print(f"      {plan['Execution Time']:7.2f} ms  {' > '.join(nodes)}")
            print(f"                  {sql[:140]}")


def _timed(call) -> tuple[float, float, int]:
    """p50, p95 (ms) and queries of ``call``, and the process CPU time per call (ms)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    call()  # warm
    connection.queries_log.clear()  # a full log (9,000 entries) would capture nothing
    timings, cpu = [], []
    for _ in range(REQUESTS):
        start, start_cpu = time.perf_counter(), time.process_time()
        call()
        timings.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    with CaptureQueriesContext(connection) as ctx:
        start = time.perf_counter()
        call()
        total = (time.perf_counter() - start) * 1000
    if os.environ.get("COSTS_BENCH_PROFILE") == "2":
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        call()
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    if os.environ.get("COSTS_BENCH_PROFILE"):
        sql_ms = sum(float(q["time"]) for q in ctx.captured_queries) * 1000
        print(
            f"    {total:.0f} ms, of which SQL {sql_ms:.0f} ms ({len(ctx.captured_queries)} queries); EXPLAIN ANALYZE:"
        )
        _explain(ctx.captured_queries)
    timings.sort()
    p95 = timings[max(0, math.ceil(len(timings) * 0.95) - 1)]
    return statistics.median(timings), p95, len(ctx.captured_queries), statistics.median(cpu)


def _page(client, url: str):
    def call():
        response = client.get(url)
        assert response.status_code == 200, response.status_code

    return call


def main() -> int:
    connection, old = _setup()
    try:
        from django.contrib.auth import get_user_model

        if not seeded():
            if KEEP and get_user_model().objects.exists():  # kept from a run of another size: start again
                connection.creation.destroy_test_db(old, verbosity=0)
                connection.settings_dict["NAME"] = old
                old = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
            counts = seed(connection)
            seconds = counts.pop("seconds")
            print(f"seeded in {seconds} s: " + ", ".join(f"{k}={v:,}" for k, v in counts.items()))
            mark_seeded()
        else:
            print(f"reusing the seeded database ({SEED_MARK})")
        must_rebuild = os.environ.get("COSTS_BENCH_REBUILD") == "1" or not seeded(REVIEWS_MARK)
        if not seeded(REVIEWS_MARK):
            counts = seed_reviews(connection)
            seconds = counts.pop("seconds")
            print(f"reviews seeded in {seconds} s: " + ", ".join(f"{k}={v:,}" for k, v in counts.items()))
            mark_seeded(REVIEWS_MARK)
        if must_rebuild:
            rebuilt = rebuild(connection)
            print(f"rollups rebuilt from the cost rows in {rebuilt.pop('seconds')} s: {rebuilt}")
        user = get_user_model().objects.get(username="bench-marketer")
        _hooks_on_top("bench-0")
        _time_catch_up()
        from django.test import Client
        from django.utils import timezone

        from approvals.costs.management.commands.cost_report import report_object
        from approvals.costs.selectors import scope_for
        from studio.core.models import Workspace

        client = Client()
        client.force_login(user)
        today = timezone.localdate()
        since = today - dt.timedelta(days=DAYS - 1)
        workspace = Workspace.objects.get(slug="bench-0")
        pages = [
            ("workspace, last 30 days", _page(client, "/w/bench-0/costs/")),
            (f"workspace, {DAYS} days", _page(client, f"/w/bench-0/costs/?since={since}&until={today}")),
            ("campaign, last 30 days", _page(client, "/w/bench-0/costs/c/c0/")),
            (f"campaign, {DAYS} days", _page(client, f"/w/bench-0/costs/c/c0/?since={since}&until={today}")),
            (f"cost_report --json, {DAYS} d", lambda: report_object(scope_for(workspace, since=since, until=today))),
        ]
        jobs = JOBS // WORKSPACES
        print(f"dashboard ({jobs:,} jobs per workspace, {REQUESTS} requests each; cpu = this process only):")
        for label, call in pages:
            if os.environ.get("COSTS_BENCH_PROFILE"):
                print(f"  {label}:")
            p50, p95, queries, cpu = _timed(call)
            verdict = "ok" if p95 <= 150 else "over goal"
            print(
                f"  {label:28s} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  cpu p50 {cpu:6.1f} ms  queries {queries}  "
                f"(goal p95 <= 150 ms: {verdict})"
            )
        bench_estimator()  # after the seed: its history query runs against the full jobs table
    finally:
        connection.creation.destroy_test_db(old, verbosity=0, keepdb=KEEP)
    return 0


if __name__ == "__main__":
    sys.exit(main())
