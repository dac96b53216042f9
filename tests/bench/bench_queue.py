"""Review queue at scale: the queue page over 100k reviewed variants.

    .venv/bin/python tests/bench/bench_queue.py [--variants 100000] [--requests 50] [--explain]

1. Creates its own PostgreSQL test database (``imprimatur_bench_queue``, from DATABASE_URL, default
   postgres://postgres@127.0.0.1:5432/imprimatur), migrated, so every index and constraint is in place.
2. Seeds with bulk_create, across 3 workspaces: jobs of 4 variants, one review per variant with its
   stages and decisions. Most reviews are closed (approved, changes requested, rejected, superseded); a
   few thousand are open with a pending brand or compliance stage, some overdue; several campaigns,
   formats and locales; safety verdicts allow/review. The benchmark reviewer is a brand reviewer in all
   3 workspaces and decided about a third of the closed reviews (the queue must skip those).
3. Times the queue page through Django's test Client logged in as that reviewer, in process (server
   time: no network): the first page and a filtered page (campaign + verdict=allow + overdue). For each,
   N requests after a warm-up: p50/p95 in ms and the SQL queries per request (goal: p95 <= 50 ms,
   queries constant and <= 12).
4. Baselines from the same run: a bare ``ReviewStage.objects.filter(status="pending")[:25]`` list and a
   trivial page (the login form) through the same Client, with the ratios.
``--explain`` prints EXPLAIN ANALYZE of both queue queries (the page's row query and its count).
Drops the database at the end.
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

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

GOAL_P95_MS = 50.0
GOAL_QUERIES = 12
TEST_DB = "imprimatur_bench_queue"


def _setup():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings.test")
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/imprimatur")
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    if connection.vendor != "postgresql":
        raise SystemExit(f"bench_queue needs PostgreSQL (DATABASE_URL is {connection.vendor})")
    setup_test_environment()
    # setup_test_environment() also instruments every template render (the test Client then copies the
    # whole context for each template and widget it renders); production never pays that, so time without.
    from django.template import Template
    from django.test import utils as test_utils

    Template._render = test_utils._TestState.saved_data.template_render
    connection.settings_dict.setdefault("TEST", {})["NAME"] = TEST_DB
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    return connection, old_name


def _pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) >= 2 else values[0]


def _bulk(model, rows: list, batch: int = 5000) -> list:
    out = []
    for i in range(0, len(rows), batch):
        out.extend(model.objects.bulk_create(rows[i : i + batch]))
    return out


def seed(n_variants: int, rng: random.Random) -> dict:
    """Everything the queue reads, created in bulk. Returns the reviewer and a campaign to filter on."""
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from approvals.reviews.models import (
        Decision,
        DecisionOutcome,
        Review,
        ReviewStage,
        ReviewStatus,
        StageKind,
        StageStatus,
    )
    from studio.core.models import Membership, Role, Workspace
    from studio.generation.catalog import catalog_sync
    from studio.generation.models import (
        Campaign,
        CampaignFormat,
        CapabilityProfile,
        Deployment,
        DraftVersion,
        GenerationJob,
        JobStatus,
        PromptDraft,
        Variant,
        VariantStatus,
    )
    from studio.safety.models import SafetyVerdict

    User = get_user_model()  # noqa: N806 - Django idiom
    now = timezone.now()
    catalog_sync()
    profile = CapabilityProfile.objects.get(name="gpt-image-2")
    reviewer = User.objects.create_user(
        "bench-reviewer", password="bench-pass", first_name="Bench", last_name="Reviewer"
    )
    other_reviewers = [User.objects.create_user(f"bench-reviewer-{i}", password="x") for i in range(3)]
    compliance = User.objects.create_user("bench-compliance", password="x")
    workspaces, marketers, campaigns, formats, deployments = [], {}, {}, {}, {}
    locales = ["", "en", "ja", "de", "fr"]
    for w in range(3):
        ws = Workspace.objects.create(name=f"Bench brand {w}", slug=f"bench-{w}", regulated=(w == 2))
        workspaces.append(ws)
        marketers[ws.pk] = [User.objects.create_user(f"bench-marketer-{w}-{i}", password="x") for i in range(4)]
        Membership.objects.bulk_create(
            [Membership(user=u, workspace=ws, role=Role.MARKETER) for u in marketers[ws.pk]]
            + [
                Membership(user=reviewer, workspace=ws, role=Role.BRAND_REVIEWER),
                Membership(user=compliance, workspace=ws, role=Role.COMPLIANCE),
            ]
            + [Membership(user=u, workspace=ws, role=Role.BRAND_REVIEWER) for u in other_reviewers]
        )
        campaigns[ws.pk] = [
            Campaign.objects.create(workspace=ws, name=f"Campaign {w}-{c}", slug=f"c{c}", locales=locales[1:])
            for c in range(6)
        ]
        for campaign in campaigns[ws.pk]:
            formats[campaign.pk] = [
                CampaignFormat.objects.create(campaign=campaign, name=name, width=wd, height=ht)
                for name, wd, ht in (("LinkedIn ad", 1200, 628), ("Story", 1080, 1920), ("Square", 1080, 1080))
            ]
        deployments[ws.pk] = Deployment.objects.create(
            workspace=ws, name="offline", provider="offline", model="gpt-image-2", profile=profile, is_default=True
        )

    started = time.perf_counter()
    with transaction.atomic():
        # Drafts (one per 40 variants) with one version each.
        draft_rows, draft_meta = [], []
        n_drafts = max(3, n_variants // 40)
        for d in range(n_drafts):
            ws = workspaces[d % 3]
            campaign = campaigns[ws.pk][d // 3 % len(campaigns[ws.pk])]
            author = marketers[ws.pk][d % len(marketers[ws.pk])]
            draft_rows.append(PromptDraft(workspace=ws, campaign=campaign, title=f"Draft {d}", created_by=author))
            draft_meta.append((ws, campaign, author))
        drafts = _bulk(PromptDraft, draft_rows)
        versions = _bulk(
            DraftVersion,
            [
                DraftVersion(
                    draft=dr,
                    number=1,
                    text=f"A bench image {dr.pk}",
                    created_by=meta[2],
                    locale_copy={"en": "Hello spring", "ja": "春のセール", "de": "Hallo Frühling"},
                )
                for dr, meta in zip(drafts, draft_meta, strict=True)
            ],
        )
        # Jobs of 4 variants; 10 jobs per draft.
        job_rows, job_meta = [], []
        for j in range(n_variants // 4):
            d = j // 10 % n_drafts
            ws, campaign, author = draft_meta[d]
            fmt = rng.choice(formats[campaign.pk] + [None])
            locale = rng.choice(locales)
            job_rows.append(
                GenerationJob(
                    workspace=ws,
                    campaign=campaign,
                    draft_version=versions[d],
                    deployment=deployments[ws.pk],
                    target_format=fmt,
                    created_by=author,
                    prompt=f"bench prompt {j}",
                    locale=locale,
                    params={"size": "1024x1024", "quality": "low"},
                    n=4,
                    target_width=fmt.width if fmt else 1024,
                    target_height=fmt.height if fmt else 1024,
                    planned_width=1024,
                    planned_height=1024,
                    status=JobStatus.SUCCEEDED,
                    progress=100,
                )
            )
            job_meta.append((drafts[d], ws, author, locale))
        jobs = _bulk(GenerationJob, job_rows)
        variant_rows = []
        for job, (draft, ws, author, locale) in zip(jobs, job_meta, strict=True):
            for i in range(4):
                verdict = SafetyVerdict.REVIEW if rng.random() < 0.2 else SafetyVerdict.ALLOW
                variant_rows.append(
                    Variant(
                        workspace=ws,
                        job=job,
                        draft=draft,
                        index=i,
                        locale=locale,
                        created_by=author,
                        image=f"variants/bench/{job.pk}-{i}.png",
                        thumbnail=f"thumbs/bench/{job.pk}-{i}.webp",
                        width=1024,
                        height=1024,
                        sha256=f"{job.pk:032x}{i:032x}",
                        format="png",
                        status=VariantStatus.APPROVED,
                        safety_verdict=verdict,
                    )
                )
        variants = _bulk(Variant, variant_rows)
        print(
            f"  seeded {len(drafts):,} drafts, {len(jobs):,} jobs, {len(variants):,} variants "
            f"({time.perf_counter() - started:.1f} s)",
            flush=True,
        )

        # Reviews: ~3% open (a few thousand), the rest closed with their decisions.
        closed_status = (
            [ReviewStatus.APPROVED] * 6
            + [ReviewStatus.CHANGES_REQUESTED] * 2
            + [ReviewStatus.REJECTED, ReviewStatus.SUPERSEDED]
        )
        review_rows, plan = [], []
        for v in variants:
            open_ = rng.random() < 0.03
            status = ReviewStatus.OPEN if open_ else rng.choice(closed_status)
            submitted = now - timedelta(hours=rng.uniform(1, 24 * 180) if not open_ else rng.uniform(1, 96))
            review_rows.append(
                Review(
                    workspace_id=v.workspace_id,
                    variant=v,
                    variant_sha256=v.sha256,
                    status=status,
                    safety_verdict=v.safety_verdict,
                    submitted_by_id=v.created_by_id,
                    closed_at=None if open_ else submitted + timedelta(hours=rng.uniform(1, 72)),
                )
            )
            plan.append((v, status, submitted))
        reviews = _bulk(Review, review_rows)
        # auto_now_add ignores the value given: spread the submission times afterwards in one statement.
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE approvals_review SET submitted_at = now() - (random() * interval '180 days') "
                "WHERE status <> 'open'"
            )
            cursor.execute(
                "UPDATE approvals_review SET submitted_at = now() - (random() * interval '96 hours') "
                "WHERE status = 'open'"
            )

        stage_rows = []
        for review, (v, status, submitted) in zip(reviews, plan, strict=True):
            regulated = v.workspace_id == workspaces[2].pk
            two_stages = regulated or v.safety_verdict == SafetyVerdict.REVIEW
            sla = submitted + timedelta(hours=48)
            if status == ReviewStatus.OPEN:
                in_compliance = two_stages and rng.random() < 0.3
                brand = StageStatus.APPROVED if in_compliance else StageStatus.PENDING
                stage_rows.append(
                    ReviewStage(
                        review=review,
                        kind=StageKind.BRAND,
                        order=1,
                        status=brand,
                        due_at=sla,
                        decided_at=now if in_compliance else None,
                    )
                )
                if two_stages:
                    stage_rows.append(
                        ReviewStage(
                            review=review,
                            kind=StageKind.COMPLIANCE,
                            order=2,
                            status=StageStatus.PENDING if in_compliance else StageStatus.WAITING,
                            due_at=sla if in_compliance else None,
                        )
                    )
            else:
                final = {
                    ReviewStatus.APPROVED: StageStatus.APPROVED,
                    ReviewStatus.CHANGES_REQUESTED: StageStatus.CHANGES_REQUESTED,
                    ReviewStatus.REJECTED: StageStatus.REJECTED,
                    ReviewStatus.SUPERSEDED: StageStatus.CANCELLED,
                }[status]
                stage_rows.append(
                    ReviewStage(review=review, kind=StageKind.BRAND, order=1, status=final, due_at=sla, decided_at=sla)
                )
                if two_stages:
                    stage_rows.append(
                        ReviewStage(
                            review=review, kind=StageKind.COMPLIANCE, order=2, status=final, due_at=sla, decided_at=sla
                        )
                    )
        stages = _bulk(ReviewStage, stage_rows)

        outcome_for = {
            StageStatus.APPROVED: DecisionOutcome.APPROVE,
            StageStatus.CHANGES_REQUESTED: DecisionOutcome.REQUEST_CHANGES,
            StageStatus.REJECTED: DecisionOutcome.REJECT,
        }
        decision_rows = []
        for stage in stages:
            outcome = outcome_for.get(stage.status)
            if outcome is None:
                continue
            if stage.kind == StageKind.COMPLIANCE:
                who = compliance
            else:
                who = reviewer if rng.random() < 0.33 else rng.choice(other_reviewers)
            decision_rows.append(
                Decision(
                    stage=stage,
                    reviewer=who,
                    outcome=outcome,
                    note="" if outcome == DecisionOutcome.APPROVE else "bench reason",
                    variant_sha256="0" * 64,
                )
            )
        decisions = _bulk(Decision, decision_rows)
        # Assign the bench reviewer to a share of the pending brand stages ("Assigned to me").
        pending_brand = [s for s in stages if s.status == StageStatus.PENDING and s.kind == StageKind.BRAND]
        Through = ReviewStage.assignees.through  # noqa: N806 - Django idiom
        _bulk(Through, [Through(reviewstage_id=s.pk, user_id=reviewer.pk) for s in pending_brand[::4]])

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    open_count = Review.objects.filter(status=ReviewStatus.OPEN).count()
    pending = ReviewStage.objects.filter(status=StageStatus.PENDING)
    print(
        f"  seeded {len(reviews):,} reviews ({open_count:,} open), {len(stages):,} stages "
        f"({pending.filter(kind='brand').count():,} brand + {pending.filter(kind='compliance').count():,} "
        f"compliance pending, {pending.filter(due_at__lt=now).count():,} overdue), {len(decisions):,} decisions "
        f"in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    # The campaign with the most overdue "allow" items the reviewer can act on: the filtered page has rows.
    from django.db.models import Count

    busiest = (
        pending.filter(kind="brand", due_at__lt=now, review__safety_verdict="allow")
        .values("review__variant__draft__campaign")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .first()
    )
    return {"reviewer": reviewer, "campaign_id": busiest["review__variant__draft__campaign"]}


def time_requests(client, url: str, params: dict, n: int) -> tuple[list[float], list[float], list[int], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(5):  # warm-up: templates, connection, caches
        response = client.get(url, params)
        assert response.status_code == 200, response.status_code
    times, sql_times, counts = [], [], []
    rows = 0
    sql = [0.0]

    def timed_sql(execute, *args):  # Django records query times to the millisecond only
        t = time.perf_counter()
        try:
            return execute(*args)
        finally:
            sql[0] += time.perf_counter() - t

    for _ in range(n):
        sql[0] = 0.0
        with CaptureQueriesContext(connection) as ctx, connection.execute_wrapper(timed_sql):
            t0 = time.perf_counter()
            response = client.get(url, params)
            times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, response.status_code
        counts.append(len(ctx.captured_queries))
        sql_times.append(sql[0] * 1000)
        rows = response.content.count(b'class="queue-row')
    return times, sql_times, counts, rows


def explain(reviewer, filters: dict) -> None:
    from approvals.reviews import selectors
    from approvals.reviews.models import ReviewStage

    queue = selectors.review_queue(user=reviewer, filters=filters)
    print(f"\n--- EXPLAIN ANALYZE the ordered ids of the matching stages (also the count), filters={filters}")
    print(queue.candidates.values_list("pk", flat=True).explain(analyze=True, buffers=True))
    page = queue.ids[:25]
    print(f"--- EXPLAIN ANALYZE the rows of page 1, filters={filters}")
    rows = ReviewStage.objects.filter(pk__in=page).select_related(
        "review__workspace",
        "review__submitted_by",
        "review__variant__draft__campaign",
        "review__variant__job__target_format",
    )
    print(rows.explain(analyze=True))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variants", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile 20 first-page requests")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    connection, old_name = _setup()
    try:
        from django.test import Client
        from django.urls import reverse

        from approvals.reviews.models import ReviewStage

        print(f"database: {connection.settings_dict['NAME']}, variants: {args.variants:,}", flush=True)
        data = seed(args.variants, random.Random(args.seed))
        reviewer = data["reviewer"]
        client = Client()
        client.force_login(reviewer)
        url = reverse("approvals:queue")
        filtered = {"campaign": data["campaign_id"], "verdict": "allow", "overdue": "on"}
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(20):
                client.get(url, {})
            profiler.disable()
            pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_PROFILE_SORT", "tottime")).print_stats(40)
        if args.explain:
            explain(reviewer, {})
            explain(reviewer, {"campaign": data["campaign_id"], "verdict": "allow", "overdue": True})

        ok = True
        results = {}
        for label, params in (("first page", {}), ("filtered page (campaign + allow + overdue)", filtered)):
            times, sql_times, counts, rows = time_requests(client, url, params, args.requests)
            p50, p95 = _pct(times, 50), _pct(times, 95)
            constant = len(set(counts)) == 1
            met = p95 <= GOAL_P95_MS and constant and max(counts) <= GOAL_QUERIES
            ok &= met
            results[label] = p50
            print(
                f"queue {label}: {rows} rows; p50 {p50:.1f} ms, p95 {p95:.1f} ms "
                f"(of which SQL p50 {_pct(sql_times, 50):.1f} ms); "
                f"{counts[0]} queries per request{'' if constant else f' (varies: {sorted(set(counts))})'} "
                f"(goal p95 <= {GOAL_P95_MS:.0f} ms, queries constant and <= {GOAL_QUERIES}) "
                f"{'OK' if met else 'OVER GOAL'}",
                flush=True,
            )

        # Baselines in the same run.
        bare = []
        for i in range(args.requests + 5):
            t0 = time.perf_counter()
            list(ReviewStage.objects.filter(status="pending")[:25])
            if i >= 5:
                bare.append((time.perf_counter() - t0) * 1000)
        anonymous = Client()
        login_times = []
        for i in range(args.requests + 5):
            t0 = time.perf_counter()
            response = anonymous.get(reverse("login"))
            if i >= 5:
                login_times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200
        b50, b95, l50, l95 = _pct(bare, 50), _pct(bare, 95), _pct(login_times, 50), _pct(login_times, 95)
        print(f"baseline bare ReviewStage.objects.filter(status='pending')[:25]: p50 {b50:.2f} ms, p95 {b95:.2f} ms")
        print(f"baseline trivial page (the login form): p50 {l50:.1f} ms, p95 {l95:.1f} ms")
        for label, p50 in results.items():
            print(f"  ratio queue {label} / trivial page (p50): {p50 / l50:.1f}x; / bare list: {p50 / b50:.0f}x")
        return 0 if ok else 1
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    sys.exit(main())
