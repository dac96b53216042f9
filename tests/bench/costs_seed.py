"""Seeding for ``bench_costs``: a million jobs, their variants, cost rows, reviews and decisions, written in
SQL (``generate_series``), then the rollups built from the cost rows by ``rollups_rebuild``, the service
a deploy's first catch-up runs. Marks in ``CostWatermark`` say what a kept database already holds."""

from __future__ import annotations

import os
import time

JOBS = int(os.environ.get("COSTS_BENCH_JOBS", "1000000"))
WORKSPACES = int(os.environ.get("COSTS_BENCH_WORKSPACES", "10"))
CAMPAIGNS = 20
DAYS = 180


def seed(connection) -> dict:
    from django.utils import timezone

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
                 provider_request_id, latency_ms, error_code, error_message, safety_categories, settle_pending,
                 created_at, started_at, finished_at)
               SELECT g, b.workspace_id, b.campaign_id, d, b.deployment_id,
                 (ARRAY['generate','generate','rerun'])[1 + g %% 3], %s, md5(g::text)::uuid,
                 'A bowl of lemons', '', (ARRAY['','','ja','de'])[1 + b.idx %% 4],
                 jsonb_build_object('quality', (ARRAY['low','medium','high'])[1 + d %% 3]), 1, 1024, 1024,
                 (ARRAY[1024,1536,2048])[1 + (d / 3) %% 3], 1024, '[]',
                 (ARRAY['explicit','tier:small'])[1 + b.idx %% 2],
                 '[]', '', CASE WHEN g %% 50 = 0 THEN 'failed' ELSE 'succeeded' END, 100, 1,
                 0.04, '', 0, CASE WHEN g %% 50 = 0 THEN 0 ELSE 0.03 + (g %% 17) * 0.001 END,
                 jsonb_build_object('output_image_tokens', 1000 + g %% 300, 'cached_text_tokens', g %% 2 * 200),
                 '', 4000 + (g %% 997) * 7, CASE WHEN g %% 50 = 0 THEN 'server_error' ELSE '' END, '', '[]', false,
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
        for table in ("studio_promptdraft", "studio_draftversion", "studio_generationjob", "studio_variant"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        cur.execute("ANALYZE")
        counts = {}
        for table in (
            "studio_generationjob",
            "studio_variant",
            "costs_jobcost",
            "costs_assetcost",
        ):
            cur.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cur.fetchone()[0]
    counts["seconds"] = round(time.perf_counter() - started, 1)
    return counts


REVIEWERS = 5


def seed_reviews(connection) -> dict:
    """A closed review with one decided brand stage per approved image (decided three hours after the job,
    two after submission, by one of five reviewers), and an open review with a pending, assigned stage
    for one image in thirty of the rest: the reviewer workload at scale."""
    from django.utils import timezone

    from studio.core.models import Role, Workspace
    from tests import factories as f

    started = time.perf_counter()
    reviewers = [f.UserFactory(username=f"bench-reviewer-{k}").pk for k in range(REVIEWERS)]
    for ws in Workspace.objects.filter(slug__startswith="bench-"):
        for pk in reviewers:
            f.MembershipFactory(user_id=pk, workspace=ws, role=Role.BRAND_REVIEWER)
    submitter = f.UserFactory(username="bench-submitter").pk
    pick = "(ARRAY[" + ",".join(str(pk) for pk in reviewers) + f"])[1 + v.id % {REVIEWERS}]"
    with connection.cursor() as cur:
        cur.execute(
            """INSERT INTO approvals_review (id, workspace_id, variant_id, variant_sha256, status, safety_verdict,
                 is_override, override_reason, submitted_by_id, submitted_at, closed_at)
               SELECT v.id, v.workspace_id, v.id, v.sha256, 'approved', 'allow', false, '', %s,
                 j.finished_at + interval '1 hour', j.finished_at + interval '3 hours'
               FROM studio_variant v JOIN studio_generationjob j ON j.id = v.job_id WHERE v.status = 'approved'""",
            [submitter],
        )
        cur.execute(
            """INSERT INTO approvals_review (id, workspace_id, variant_id, variant_sha256, status, safety_verdict,
                 is_override, override_reason, submitted_by_id, submitted_at, closed_at)
               SELECT v.id, v.workspace_id, v.id, v.sha256, 'open', 'allow', false, '', %s, v.created_at, NULL
               FROM studio_variant v WHERE v.index = 1 AND v.job_id %% 30 = 1""",
            [submitter],
        )
        cur.execute(
            """INSERT INTO approvals_reviewstage (id, review_id, kind, "order", status, rule, due_at, decided_at)
               SELECT r.id, r.id, 'brand', 1, CASE WHEN r.status = 'open' THEN 'pending' ELSE 'approved' END, 'any',
                 %s + make_interval(hours => (r.id %% 48)::int - 24), r.closed_at
               FROM approvals_review r""",
            [timezone.now()],
        )
        cur.execute(
            f"""INSERT INTO approvals_reviewstage_assignees (reviewstage_id, user_id)
               SELECT s.id, {pick.replace("v.id", "s.id")} FROM approvals_reviewstage s"""  # noqa: S608 - our ints
        )
        cur.execute(
            f"""INSERT INTO approvals_decision (id, stage_id, reviewer_id, outcome, note, variant_sha256, created_at)
               SELECT r.id, r.id, {pick.replace("v.id", "r.id")}, 'approve', '', r.variant_sha256, r.closed_at
               FROM approvals_review r WHERE r.status = 'approved'"""  # noqa: S608 - our ints
        )
        for table in ("approvals_review", "approvals_reviewstage", "approvals_decision"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        cur.execute("ANALYZE")
        counts = {}
        for table in ("approvals_review", "approvals_reviewstage", "approvals_decision"):
            cur.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
            counts[table] = cur.fetchone()[0]
    # As if the catch-up had been running all along: its first run would otherwise re-attribute every
    # draft that ever had an approval.
    from approvals.costs.models import CostWatermark
    from approvals.costs.services.recording import WATERMARK

    CostWatermark.objects.update_or_create(name=WATERMARK, defaults={"reached_at": timezone.now()})
    counts["seconds"] = round(time.perf_counter() - started, 1)
    return counts


def rebuild(connection) -> dict:
    """The rollups from the seeded cost rows, by the service a deploy's first catch-up runs."""
    from approvals.costs.services.rollups import rollups_rebuild

    started = time.perf_counter()
    written = rollups_rebuild()
    with connection.cursor() as cur:
        cur.execute("ANALYZE costs_costbreakdownday")
        cur.execute("ANALYZE costs_costhistogramday")
    return {**written, "seconds": round(time.perf_counter() - started, 1)}


SEED_MARK = f"bench-seed:{JOBS}:{WORKSPACES}"
REVIEWS_MARK = f"bench-reviews:{JOBS}:{WORKSPACES}"


def seeded(mark: str = SEED_MARK) -> bool:
    from approvals.costs.models import CostWatermark

    return CostWatermark.objects.filter(name=mark).exists()


def mark_seeded(mark: str = SEED_MARK) -> None:
    from django.utils import timezone

    from approvals.costs.models import CostWatermark

    CostWatermark.objects.create(name=mark, reached_at=timezone.now())
