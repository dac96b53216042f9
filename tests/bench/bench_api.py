"""API at scale: list publications over 100k publications.

    .venv/bin/python tests/bench/bench_api.py [--publications 100000] [--requests 100]

1. Creates its own PostgreSQL test database (``<DATABASE_URL's name>_bench_api``), migrated.
2. Seeds in bulk: one workspace with 4 formats per campaign, ``publications / 4`` approved variants (jobs of
   4, one approved review each), each published in all 4 formats; a second workspace with a tenth of that
   (rows the list must skip).
3. Times ``GET /api/v1/publications/`` through DRF's test client with a bearer key (in process: server
   time, no network): the first page, a filtered page (campaign + locale + since) and page 50 of a cursor
   walk. For each: p50/p95 in ms and SQL queries per request (goal: p95 <= 50 ms, constant queries).
4. Baseline from the same run: the bare ``Publication.objects.filter(workspace=...)[:50]`` query, and the
   ratio. Drops the database at the end.
``--keepdb`` keeps the seeded database and reuses it on the next run (while iterating).
``BENCH_EXPLAIN=1`` prints EXPLAIN ANALYZE of the bare and the API's page query; ``BENCH_PROFILE=1`` a
cProfile of 20 requests. The second workspace is seeded last, so its rows hold the highest ids: the first
page of the big workspace skips them (the worst case for an ``id``-ordered list: the API reads a page's
ids from the (workspace, -id) index first, then its rows, see ``IdsFirstCursorPagination``). The seed is
VACUUM ANALYZEd, as autovacuum would after a bulk insert (index-only scans need the visibility map).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

GOAL_P95_MS = 50.0


def _setup(keepdb: bool):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings.test")
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/imprimatur")
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    if connection.vendor != "postgresql":
        raise SystemExit(f"bench_api needs PostgreSQL (DATABASE_URL is {connection.vendor})")
    setup_test_environment()
    # Named after DATABASE_URL's database, so benches run by several people at once do not collide.
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{connection.settings_dict['NAME']}_bench_api"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=keepdb)
    return connection, old_name


def _bulk(model, rows: list, batch: int = 5000) -> list:
    out = []
    for i in range(0, len(rows), batch):
        out.extend(model.objects.bulk_create(rows[i : i + batch]))
    return out


def _seed_workspace(slug: str, n_publications: int, rng: random.Random, User, profile):  # noqa: N803
    from approvals.publishing.models import Publication
    from approvals.reviews.models import Review, ReviewStatus
    from studio.core.models import Membership, Role, Workspace
    from studio.generation.models import (
        Campaign,
        CampaignFormat,
        Deployment,
        DraftVersion,
        GenerationJob,
        JobStatus,
        PromptDraft,
        Variant,
        VariantStatus,
    )

    ws = Workspace.objects.create(name=f"Bench {slug}", slug=slug)
    maker = User.objects.create_user(f"{slug}-maker", password="x")
    Membership.objects.create(user=maker, workspace=ws, role=Role.MARKETER)
    campaigns = [
        Campaign.objects.create(workspace=ws, name=f"C{c}", slug=f"c{c}", locales=["en", "ja"]) for c in range(5)
    ]
    formats = {
        c.pk: [CampaignFormat.objects.create(campaign=c, name=f"F{i}", width=512 + i, height=512) for i in range(4)]
        for c in campaigns
    }
    deployment = Deployment.objects.create(
        workspace=ws, name="offline", provider="offline", model="gpt-image-2", profile=profile
    )
    drafts = _bulk(
        PromptDraft, [PromptDraft(workspace=ws, campaign=c, title=f"D{c.pk}", created_by=maker) for c in campaigns]
    )
    versions = _bulk(DraftVersion, [DraftVersion(draft=d, number=1, text="bench", created_by=maker) for d in drafts])
    n_variants = max(1, n_publications // 4)
    jobs = _bulk(
        GenerationJob,
        [
            GenerationJob(
                workspace=ws,
                campaign=drafts[j % 5].campaign,
                draft_version=versions[j % 5],
                deployment=deployment,
                created_by=maker,
                prompt="bench",
                n=4,
                target_width=1024,
                target_height=1024,
                planned_width=1024,
                planned_height=1024,
                status=JobStatus.SUCCEEDED,
            )
            for j in range((n_variants + 3) // 4)
        ],
    )
    variants = _bulk(
        Variant,
        [
            Variant(
                workspace=ws,
                job=jobs[v // 4],
                draft=drafts[(v // 4) % 5],
                index=v % 4,
                locale=rng.choice(["en", "ja", ""]),
                created_by=maker,
                image=f"variants/bench/{slug}-{v}.png",
                width=1024,
                height=1024,
                sha256=f"{v:064x}",
                format="png",
                status=VariantStatus.PUBLISHED,
            )
            for v in range(n_variants)
        ],
    )
    reviews = _bulk(
        Review,
        [
            Review(
                workspace=ws,
                variant=v,
                variant_sha256=v.sha256,
                status=ReviewStatus.APPROVED,
                safety_verdict="allow",
                submitted_by=maker,
            )
            for v in variants
        ],
    )
    campaign_of = {d.pk: d.campaign_id for d in drafts}
    rows = []
    for v, r in zip(variants, reviews, strict=True):
        for fmt in formats[campaign_of[v.draft_id]]:
            rows.append(
                Publication(
                    workspace=ws,
                    variant=v,
                    review=r,
                    target_format=fmt,
                    width=fmt.width,
                    height=fmt.height,
                    file=f"published/{slug}/{v.pk}/{fmt.pk}.png",
                    sha256=f"{v.pk:032x}{fmt.pk:032x}",
                    source_sha256=v.sha256,
                    published_by=maker,
                )
            )
    _bulk(Publication, rows)
    from django.db import connection

    with connection.cursor() as cursor:  # spread publication times over 90 days, as a real history is
        cursor.execute(
            "UPDATE approvals_publication SET created_at = now() - (random() * interval '90 days') "
            "WHERE workspace_id = %s",
            [ws.pk],
        )
    return ws, maker, campaigns


def _pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) >= 2 else values[0]


def _time(client, url: str, n: int, connection) -> tuple[float, float, float, int]:
    """p50 and p95 wall ms, p95 CPU ms of this process (what the machine's other work cannot inflate as
    much: it leaves out the database server's share), and the SQL queries of one request."""
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):
        assert client.get(url).status_code == 200
    timings, cpu = [], []
    for _ in range(n):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        assert response.status_code == 200, response.content[:300]
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    return statistics.median(timings), _pct(timings, 95), _pct(cpu, 95), len(ctx.captured_queries)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--publications", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument(
        "--keepdb", action="store_true", help="keep the seeded database for the next run (which reuses it)"
    )
    args = parser.parse_args()
    connection, old_name = _setup(args.keepdb)
    try:
        from django.contrib.auth import get_user_model
        from django.utils import timezone
        from rest_framework.test import APIClient

        from approvals.api.keys import apikey_create
        from approvals.publishing.models import Publication
        from studio.generation.catalog import catalog_sync
        from studio.generation.models import CapabilityProfile

        catalog_sync()
        profile = CapabilityProfile.objects.get(name="gpt-image-2")
        rng = random.Random(13)
        User = get_user_model()  # noqa: N806 - Django idiom
        started = time.perf_counter()
        from studio.core.models import Workspace
        from studio.generation.models import Campaign

        ws = Workspace.objects.filter(slug="bench-a").first() if args.keepdb else None
        if ws is not None:  # seeded by an earlier --keepdb run
            maker = User.objects.get(username="bench-a-maker")
            campaigns = list(Campaign.objects.filter(workspace=ws).order_by("pk"))
        else:
            ws, maker, campaigns = _seed_workspace("bench-a", args.publications, rng, User, profile)
            _seed_workspace("bench-b", args.publications // 10, rng, User, profile)
            with connection.cursor() as cursor:  # what autovacuum does after a bulk insert: statistics and
                cursor.execute("VACUUM ANALYZE")  # the visibility map that index-only scans need
        total = Publication.objects.count()
        print(f"  seeded {total:,} publications ({time.perf_counter() - started:.1f} s)", flush=True)

        key = apikey_create(actor=None, workspace=ws, user=maker, name="bench", scopes=["read"]).key
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        from django.conf import settings
        from rest_framework.settings import api_settings

        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api_key": "1000000/min"}}
        api_settings.reload()  # DRF caches its settings; the throttle still counts, it just never refuses

        since = (timezone.now() - timedelta(days=30)).isoformat()
        cursor_url = "/api/v1/publications/?limit=50"
        for _ in range(49):  # to page 50 (or the last page of a small seed)
            following = client.get(cursor_url).json()["next"]
            if following is None:
                break
            cursor_url = following
        cases = [
            ("first page (50 rows)", "/api/v1/publications/"),
            (
                "filtered: campaign + locale + since",
                "/api/v1/publications/?" + urlencode({"campaign": campaigns[1].pk, "locale": "ja", "since": since}),
            ),
            ("page 50 of a cursor walk", cursor_url.replace("http://testserver", "")),
        ]
        if os.environ.get("BENCH_EXPLAIN"):
            from approvals.api.views.approvals import _publications

            print(Publication.objects.filter(workspace=ws).order_by("-id")[:50].explain(analyze=True))
            ids = Publication.objects.filter(workspace=ws).order_by("-id").values("id")[:51]
            print(_publications(ws).filter(pk__in=ids).order_by("-id").explain(analyze=True))  # the API's page
        if os.environ.get("BENCH_PROFILE"):
            import cProfile
            import pstats

            cProfile.runctx(
                "for _ in range(20): client.get('/api/v1/publications/')", globals(), locals(), "/tmp/api.prof"
            )
            pstats.Stats("/tmp/api.prof").sort_stats("cumulative").print_stats(40)
            pstats.Stats("/tmp/api.prof").sort_stats("tottime").print_stats(30)
        worst = 0.0
        queries = set()
        for label, url in cases:
            p50, p95, cpu95, n_queries = _time(client, url, args.requests, connection)
            worst = max(worst, p95)
            queries.add(n_queries)
            print(
                f"  {label:38} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  (cpu p95 {cpu95:5.1f} ms)  {n_queries} queries",
                flush=True,
            )

        timings = []
        for _ in range(args.requests):
            started = time.perf_counter()
            list(Publication.objects.filter(workspace=ws).order_by("-id")[:50])
            timings.append((time.perf_counter() - started) * 1000)
        base = _pct(timings, 95)
        print(f"  baseline: bare ORM page of 50            p95 {base:6.1f} ms  (API/bare ratio {worst / base:.1f}x)")
        ok = worst <= GOAL_P95_MS and len(queries) == 1
        print(
            f"  goal p95 <= {GOAL_P95_MS:.0f} ms with constant queries: "
            f"{'met' if ok else 'NOT met'} (worst p95 {worst:.1f} ms; queries {sorted(queries)}; "
            f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())})"
        )
        return 0 if ok else 1
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0, keepdb=args.keepdb)


if __name__ == "__main__":
    sys.exit(main())
