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
   approved asset per three jobs (``AssetCost``) and the rollups (``CostRollup``) aggregated from the
   cost rows in SQL: the same sums the per-job upserts maintain (the unit tests prove upserts equal a
   recomputation). Then records 200 more jobs and 50 approvals through the real hooks on top.
4. Times the workspace page (30-day and 180-day ranges) and a campaign page through the test client,
   rendering included: p50/p95 and queries per page (goal p95 <= 150 ms).
Drops the database at the end.
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

JOBS = int(os.environ.get("COSTS_BENCH_JOBS", "1000000"))
WORKSPACES = int(os.environ.get("COSTS_BENCH_WORKSPACES", "10"))
CAMPAIGNS = 20
REQUESTS = int(os.environ.get("COSTS_BENCH_REQUESTS", "30"))
DAYS = 180


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
    connection.settings_dict.setdefault("TEST", {})["NAME"] = "test_imprimatur_costs_bench"
    old = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
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


# --- 3. seeding ---------------------------------------------------------------------------------------------


def _seed(connection) -> dict:
    from django.utils import timezone

    from approvals.costs.models import CostRollup
    from studio.core.models import Role
    from tests import factories as f

    started = time.perf_counter()
    profile = f.CapabilityProfileFactory()
    price = f.PriceTableFactory()
    user = f.UserFactory(username="bench-marketer")
    campaigns = []
    for w in range(WORKSPACES):
        ws = f.WorkspaceFactory(slug=f"bench-{w}", name=f"Bench {w}")
        f.MembershipFactory(user=user, workspace=ws, role=Role.MARKETER)
        deployments = [f.DeploymentFactory(workspace=ws, profile=profile, name=f"dep-{k}") for k in range(2)]
        for c in range(CAMPAIGNS):
            campaign = f.CampaignFactory(workspace=ws, slug=f"c{c}", budget=10_000_000)
            campaigns.append((len(campaigns), campaign.pk, ws.pk, deployments[c % 2].pk))
    drafts = max(1, JOBS // 10)
    now = timezone.now()
    with connection.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE bench_campaigns (idx int, campaign_id bigint, workspace_id bigint, deployment_id bigint)"
        )
        with cur.copy("COPY bench_campaigns FROM STDIN") as copy:
            for row in campaigns:
                copy.write_row(row)
        ncamp = len(campaigns)
        cur.execute(
            """INSERT INTO studio_promptdraft
                 (id, workspace_id, campaign_id, title, created_by_id, created_at, updated_at)
               SELECT g, b.workspace_id, b.campaign_id, 'Draft ' || g, %s, %s, %s
               FROM generate_series(1, %s) g JOIN bench_campaigns b ON b.idx = (g - 1) %% %s""",
            [user.pk, now, now, drafts, ncamp],
        )
        cur.execute(
            """INSERT INTO studio_draftversion
                 (id, draft_id, number, text, variables, locale_copy, created_by_id, created_at)
               SELECT g, g, 1, 'A bowl of lemons', '{}', '{}', %s, %s FROM generate_series(1, %s) g""",
            [user.pk, now, drafts],
        )
        # job g: draft (g-1)/10+1; settled up to DAYS days ago; quality, size, locale, route and operation vary
        cur.execute(
            """INSERT INTO studio_generationjob (id, workspace_id, campaign_id, draft_version_id, deployment_id,
                 operation, created_by_id, idempotency_key, prompt, instruction, locale, params, n, target_width,
                 target_height, planned_width, planned_height, plan_notes, route, reference_uploads, mask, status,
                 progress, attempts, estimated_cost, estimate_basis, reserved_cost, actual_cost, usage,
                 provider_request_id, latency_ms, error_code, error_message, safety_categories, created_at,
                 started_at, finished_at)
               SELECT g, b.workspace_id, b.campaign_id, d, b.deployment_id,
                 (ARRAY['generate','generate','rerun'])[1 + g %% 3], %s, md5(g::text)::uuid,
                 'A bowl of lemons', '', (ARRAY['','','ja','de'])[1 + b.idx %% 4],
                 jsonb_build_object('quality', (ARRAY['low','medium','high'])[1 + d %% 3]), 1, 1024, 1024,
                 (ARRAY[1024,1536,2048])[1 + (d / 3) %% 3], 1024, '[]',
                 (ARRAY['explicit','tier:small'])[1 + b.idx %% 2],
                 '[]', '', CASE WHEN g %% 50 = 0 THEN 'failed' ELSE 'succeeded' END, 100, 1,
                 0.04, '', 0, CASE WHEN g %% 50 = 0 THEN 0 ELSE 0.03 + (g %% 17) * 0.001 END,
                 jsonb_build_object('output_image_tokens', 1000 + g %% 300, 'cached_text_tokens', g %% 2 * 200),
                 '', 4000 + (g %% 997) * 7, CASE WHEN g %% 50 = 0 THEN 'server_error' ELSE '' END, '', '[]',
                 %s - make_interval(secs => g::float8 * %s / %s), %s - make_interval(secs => g::float8 * %s / %s),
                 %s - make_interval(secs => g::float8 * %s / %s - 5)
               FROM generate_series(1, %s) g
               CROSS JOIN LATERAL (SELECT (g - 1) / 10 + 1 AS d) dd
               JOIN bench_campaigns b ON b.idx = (d - 1) %% %s""",
            [user.pk, *[now, DAYS * 86400, JOBS] * 3, JOBS, ncamp],
        )
        cur.execute(
            """INSERT INTO studio_variant (workspace_id, job_id, draft_id, index, operation, locale, created_by_id,
                 image, thumbnail, width, height, sha256, format, size_mismatch, filter_results, status,
                 safety_verdict, safety_severity, created_at)
               SELECT j.workspace_id, j.id, (j.id - 1) / 10 + 1, i, j.operation, j.locale, j.created_by_id,
                 'variants/bench.png', '', j.planned_width, j.planned_height, md5(j.id::text || '-' || i), 'png', false,
                 '{}', CASE WHEN i = 0 AND j.id %% 3 = 0 THEN 'approved' ELSE 'rejected' END, 'allow', 0, j.finished_at
               FROM studio_generationjob j CROSS JOIN generate_series(0, 3) i
               WHERE j.status = 'succeeded' AND j.id <= %s""",
            [JOBS],
        )
        cur.execute(
            """INSERT INTO costs_jobcost (job_id, workspace_id, campaign_id, draft_id, deployment_id, settled_at, day,
                 model, quality, size_class, locale, route, operation, status, cause, currency, spend,
                 productive_spend, estimated_cost, images, output_tokens, cached_tokens, cached_savings, latency_ms,
                 price_table_id, price_rates, rates_digest)
               SELECT j.id, j.workspace_id, j.campaign_id, (j.id - 1) / 10 + 1, j.deployment_id, j.finished_at,
                 (j.finished_at AT TIME ZONE 'UTC')::date, 'gpt-image-2', j.params->>'quality',
                 GREATEST(1, round(j.planned_width * j.planned_height / 1000000.0)), j.locale, j.route, j.operation,
                 j.status, j.error_code, 'USD', j.actual_cost, CASE WHEN j.id %% 3 = 0 THEN j.actual_cost ELSE 0 END,
                 j.estimated_cost, CASE WHEN j.status = 'succeeded' THEN 4 ELSE 0 END, 1000 + j.id %% 300,
                 j.id %% 2 * 200, j.id %% 2 * 0.00075, j.latency_ms, %s, '{}', ''
               FROM studio_generationjob j WHERE j.id <= %s""",
            [price.pk, JOBS],
        )
        cur.execute(
            """INSERT INTO costs_assetcost (variant_id, workspace_id, campaign_id, draft_id, approved_at, day,
                 published_at, first_generation_at, seconds_to_approval, lineage_spend, lineage_jobs, currency, model,
                 deployment_id, quality, size_class, locale, route, operation)
               SELECT v.id, v.workspace_id, c.campaign_id, v.draft_id, c.settled_at + interval '3 hours', c.day,
                 NULL, c.settled_at, 10800 + v.job_id % 7200, c.spend * 2, 2, 'USD', c.model, c.deployment_id,
                 c.quality, c.size_class, c.locale, c.route, c.operation
               FROM studio_variant v JOIN costs_jobcost c ON c.job_id = v.job_id WHERE v.status = 'approved'"""
        )
        keys = ", ".join(
            k
            for k in (
                "workspace_id",
                "campaign_id",
                "day",
                "model",
                "deployment_id",
                "quality",
                "size_class",
                "locale",
                "route",
                "operation",
                "status",
                "cause",
                "currency",
            )
        )
        cur.execute(
            f"""INSERT INTO {CostRollup._meta.db_table} ({keys}, price_table_ref, rates_digest, jobs, images, spend,
                 productive_spend, estimated_cost, output_tokens, cached_tokens, cached_savings, cached_jobs)
               SELECT {keys}, COALESCE(price_table_id, 0), rates_digest, count(*), sum(images), sum(spend),
                 sum(productive_spend), sum(estimated_cost), sum(output_tokens), sum(cached_tokens),
                 sum(cached_savings), count(*) FILTER (WHERE cached_tokens > 0)
               FROM costs_jobcost GROUP BY {keys}, COALESCE(price_table_id, 0), rates_digest"""
        )
        wkeys = keys.replace("campaign_id, ", "")
        cur.execute(
            f"""INSERT INTO costs_workspacecostrollup ({wkeys}, price_table_ref, rates_digest, jobs, images, spend,
                 productive_spend, estimated_cost, output_tokens, cached_tokens, cached_savings, cached_jobs)
               SELECT {wkeys}, price_table_ref, rates_digest, sum(jobs), sum(images), sum(spend),
                 sum(productive_spend), sum(estimated_cost), sum(output_tokens), sum(cached_tokens),
                 sum(cached_savings), sum(cached_jobs)
               FROM {CostRollup._meta.db_table} GROUP BY {wkeys}, price_table_ref, rates_digest"""
        )
        for table in ("studio_promptdraft", "studio_draftversion", "studio_generationjob", "studio_variant"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        cur.execute("ANALYZE")
        counts = {}
        for table in (
            "studio_generationjob",
            "studio_variant",
            "costs_jobcost",
            "costs_assetcost",
            "costs_costrollup",
            "costs_workspacecostrollup",
        ):
            cur.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cur.fetchone()[0]
    counts["seconds"] = round(time.perf_counter() - started, 1)
    counts["user"] = user
    return counts


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


def _time_page(client, url: str) -> tuple[float, float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm
    timings = []
    for _ in range(REQUESTS):
        start = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
    with CaptureQueriesContext(connection) as ctx:
        start = time.perf_counter()
        client.get(url)
        total = (time.perf_counter() - start) * 1000
    if os.environ.get("COSTS_BENCH_PROFILE") == "2":
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        client.get(url)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(18)
    if os.environ.get("COSTS_BENCH_PROFILE"):
        slow = sorted(ctx.captured_queries, key=lambda q: -float(q["time"]))[:4]
        sql_ms = sum(float(q["time"]) for q in ctx.captured_queries) * 1000
        print(f"    {url}: {total:.0f} ms, of which SQL {sql_ms:.0f} ms; slowest:")
        for q in slow:
            print(f"      {float(q['time']) * 1000:6.1f} ms  {q['sql'][:150]}")
    timings.sort()
    return statistics.median(timings), timings[max(0, math.ceil(len(timings) * 0.95) - 1)], len(ctx.captured_queries)


def main() -> int:
    connection, old = _setup()
    try:
        counts = _seed(connection)
        user = counts.pop("user")
        seconds = counts.pop("seconds")
        print(f"seeded in {seconds} s: " + ", ".join(f"{k}={v:,}" for k, v in counts.items()))
        _hooks_on_top("bench-0")
        from django.test import Client
        from django.utils import timezone

        client = Client()
        client.force_login(user)
        today = timezone.localdate()
        since = today - dt.timedelta(days=DAYS - 1)
        pages = [
            ("workspace, last 30 days", "/w/bench-0/costs/"),
            (f"workspace, {DAYS} days", f"/w/bench-0/costs/?since={since}&until={today}"),
            ("campaign, last 30 days", "/w/bench-0/costs/c/c0/"),
        ]
        print(
            f"dashboard ({counts['studio_generationjob'] // WORKSPACES:,} jobs per workspace, "
            f"{REQUESTS} requests each):"
        )
        for label, url in pages:
            p50, p95, queries = _time_page(client, url)
            verdict = "ok" if p95 <= 150 else "over goal"
            print(
                f"  {label:28s} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  queries {queries}  "
                f"(goal p95 <= 150 ms: {verdict})"
            )
        bench_estimator()  # after the seed: its history query runs against the full jobs table
    finally:
        connection.creation.destroy_test_db(old, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
