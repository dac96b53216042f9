"""Run review and run publishing at scale: a 1,000-cell production run (10 formats x 100 locales).

    .venv/bin/python tests/bench/bench_run_review.py [--formats 10] [--locales 100] [--requests 40]

1. Creates its own PostgreSQL test database (``imprimatur_reviewscale`` unless BENCH_DB says otherwise,
   from DATABASE_URL), migrated, so every index is in place.
2. Seeds with bulk_create: one run of formats x locales cells, each with a job and one image in review
   (a pending brand stage), plus 20 other runs' worth of closed history so the queries must use indexes.
3. Times through Django's test Client, in process, logged in as a brand reviewer: the run review grid
   (page 1, and filtered by state=awaiting and verdict=allow) and the run publish page, with two
   baselines from the same run (the login page, the review queue), and the run page (whole, and the
   live poll that sends only changed cells). For each: p50/p95 in ms, CPU ms and SQL queries per request
   (goal: p95 <= 100 ms, queries constant). On a shared, loaded machine compare against the baselines.
4. Times a launch of formats x locales cells (``--no-launch`` skips it and 5.): the request (plan, the
   whole reservation, the cells, one outbox row) and then the preparation chunks a worker runs.
5. Times "Publish this run" on an approved history run: the POST, and the per-image checks its task runs.
Drops the database at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

GOAL_P95_MS = 100.0
TEST_DB = os.environ.get("BENCH_DB", "imprimatur_reviewscale")


def _setup():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings.test")
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/imprimatur")
    import django

    django.setup()
    from django.db import connection
    from django.template import Template
    from django.test import utils as test_utils
    from django.test.utils import setup_test_environment

    if connection.vendor != "postgresql":
        raise SystemExit(f"bench_run_review needs PostgreSQL (DATABASE_URL is {connection.vendor})")
    setup_test_environment()
    Template._render = test_utils._TestState.saved_data.template_render  # time templates as production does
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


def seed(n_formats: int, n_locales: int, history_runs: int = 20) -> dict:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from approvals.reviews.models import Review, ReviewStage, ReviewStatus, StageKind, StageStatus
    from studio.core.models import Membership, Role, Workspace
    from studio.generation import models as gm
    from studio.runs.models import CellStatus, ProductionRun, RunCell
    from studio.safety.models import SafetyVerdict

    User = get_user_model()  # noqa: N806
    workspace = Workspace.objects.create(name="Bench", slug="bench")
    marketer = User.objects.create_user("bench-marketer", password="x")
    reviewer = User.objects.create_user("bench-reviewer", password="x")
    Membership.objects.create(user=marketer, workspace=workspace, role=Role.MARKETER)
    Membership.objects.create(user=reviewer, workspace=workspace, role=Role.BRAND_REVIEWER)
    campaign = gm.Campaign.objects.create(workspace=workspace, name="Spring", slug="spring", budget=100000)
    formats = _bulk(
        gm.CampaignFormat,
        [
            gm.CampaignFormat(campaign=campaign, name=f"Format {i:02d}", width=1200, height=628)
            for i in range(n_formats)
        ],
    )
    locales = [f"l{i:03d}" for i in range(n_locales)]
    draft = gm.PromptDraft.objects.create(workspace=workspace, campaign=campaign, title="Bench", created_by=marketer)
    version = gm.DraftVersion.objects.create(
        draft=draft,
        number=1,
        text="A sunlit kitchen",
        created_by=marketer,
        locale_copy={loc: f"Spring sale ({loc})" for loc in locales},
    )
    profile = gm.CapabilityProfile.objects.create(name="bench-profile", size_mode=gm.SizeMode.FLEXIBLE)
    deployment = gm.Deployment.objects.create(
        workspace=workspace, name="bench", provider=gm.ProviderKind.OFFLINE, model="gpt-image-2", profile=profile
    )
    now = timezone.now()
    target = None
    for r in range(history_runs + 1):
        measured = r == history_runs  # the last run is the one the pages show
        run = ProductionRun.objects.create(
            workspace=workspace,
            campaign=campaign,
            source_version=version,
            deployment=deployment,
            variants_per_cell=1,
            created_by=marketer,
        )
        pairs = [(fmt, loc) for fmt in formats for loc in locales]
        jobs = _bulk(
            gm.GenerationJob,
            [
                gm.GenerationJob(
                    workspace=workspace,
                    campaign=campaign,
                    draft_version=version,
                    deployment=deployment,
                    target_format=fmt,
                    created_by=marketer,
                    prompt="p",
                    locale=loc,
                    n=1,
                    target_width=1200,
                    target_height=628,
                    planned_width=1216,
                    planned_height=640,
                    status=gm.JobStatus.SUCCEEDED,
                )
                for fmt, loc in pairs
            ],
        )
        status = gm.VariantStatus.IN_REVIEW if measured else gm.VariantStatus.APPROVED
        variants = _bulk(
            gm.Variant,
            [
                gm.Variant(
                    workspace=workspace,
                    job=job,
                    draft=draft,
                    index=0,
                    locale=loc,
                    created_by=marketer,
                    image=f"variants/bench/{job.pk}.png",
                    width=1216,
                    height=640,
                    sha256=f"{job.pk:064x}",
                    format="png",
                    status=status,
                    safety_verdict=SafetyVerdict.ALLOW,
                )
                for job, (_fmt, loc) in zip(jobs, pairs, strict=True)
            ],
        )
        reviews = _bulk(
            Review,
            [
                Review(
                    workspace=workspace,
                    variant=v,
                    variant_sha256=v.sha256,
                    safety_verdict=SafetyVerdict.ALLOW,
                    submitted_by=marketer,
                    status=ReviewStatus.OPEN if measured else ReviewStatus.APPROVED,
                    closed_at=None if measured else now,
                )
                for v in variants
            ],
        )
        _bulk(
            ReviewStage,
            [
                ReviewStage(
                    review=rv,
                    kind=StageKind.BRAND,
                    order=1,
                    status=StageStatus.PENDING if measured else StageStatus.APPROVED,
                    due_at=now,
                )
                for rv in reviews
            ],
        )
        _bulk(
            RunCell,
            [
                RunCell(run=run, target_format=fmt, locale=loc, job=job, status=CellStatus.SUCCEEDED)
                for job, (fmt, loc) in zip(jobs, pairs, strict=True)
            ],
        )
        target = run
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"workspace": workspace, "reviewer": reviewer, "marketer": marketer, "run": target}


def time_page(client, url: str, requests: int, htmx: bool = False) -> tuple[float, float, float, int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    for _ in range(3):
        assert client.get(url, **headers).status_code == 200, url
    times, cpu, queries = [], [], set()
    size = 0
    for _ in range(requests):
        with CaptureQueriesContext(connection) as ctx:
            start, start_cpu = time.perf_counter(), time.process_time()
            response = client.get(url, **headers)
            times.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
        assert response.status_code == 200
        size = len(response.content)
        queries.add(len(ctx.captured_queries))
    return statistics.median(times), _pct(times, 95), statistics.median(cpu), max(queries), size


def launch_spec(*, workspace, n_formats: int, n_locales: int):
    """A priced deployment and a campaign of ``n_formats`` x ``n_locales`` with copy for every locale."""
    from studio.generation import models as gm
    from studio.runs.planning import RunSpec
    from tests import factories as f

    profile = f.CapabilityProfileFactory()
    f.PriceTableFactory()
    deployment = f.DeploymentFactory(workspace=workspace, profile=profile, name="bench-launch")
    locales = [f"l{i:03d}" for i in range(n_locales)]
    campaign = gm.Campaign.objects.create(
        workspace=workspace, name="Launch", slug="launch", budget=10**6, locales=locales
    )
    sizes = [(1200, 628), (1080, 1080), (1080, 1350)]
    formats = [
        gm.CampaignFormat.objects.create(campaign=campaign, name=f"Launch {i:02d}", width=w, height=h)
        for i, (w, h) in enumerate(sizes[i % len(sizes)] for i in range(n_formats))
    ]
    marketer = workspace.memberships.get(role="marketer").user
    draft = gm.PromptDraft.objects.create(workspace=workspace, campaign=campaign, title="Launch", created_by=marketer)
    version = gm.DraftVersion.objects.create(
        draft=draft,
        number=1,
        text="A sunlit kitchen",
        created_by=marketer,
        locale_copy={loc: f"Spring sale ({loc})" for loc in locales},
    )
    spec = RunSpec(
        campaign=campaign, deployment=deployment, formats=formats, locales=locales, n=1, quality="low", version=version
    )
    return spec, marketer


def time_launch(*, workspace, n_formats: int, n_locales: int) -> None:
    """The launch request (plan, whole reservation, cells, one event, one outbox row) and then the
    preparation chunks a worker runs, with the broker taken away (the outbox rows are the output)."""
    from unittest import mock

    from studio.runs import services
    from studio.runs.launching import run_prepare_chunk

    spec, marketer = launch_spec(workspace=workspace, n_formats=n_formats, n_locales=n_locales)
    with mock.patch("studio.core.outbox.services.task_send"):
        wall, cpu = time.perf_counter(), time.process_time()
        run = services.run_launch(actor=marketer, spec=spec)
        request = (time.perf_counter() - wall, time.process_time() - cpu)
        wall, cpu, chunks = time.perf_counter(), time.process_time(), 1
        while run_prepare_chunk(run_id=run.pk):
            chunks += 1
        prepare = (time.perf_counter() - wall, time.process_time() - cpu)
    cells = run.cells.count()
    print(
        f"launch of {cells} cells: request {request[0]:.2f} s wall ({request[1]:.2f} s CPU); "
        f"preparation {prepare[0]:.2f} s wall ({prepare[1]:.2f} s CPU) in {chunks} chunks, "
        f"{prepare[1] * 1000 / max(cells, 1):.1f} ms CPU per cell"
    )


def time_publish(*, marketer, workspace) -> None:
    """The "Publish this run" request on a history run whose 1,000 images are approved: the request now (a plan and
    one outbox row) against the per-image checks it used to run inline (now the task's body), with the
    broker and the renders taken away."""
    from unittest import mock

    from django.test import Client
    from django.urls import reverse

    from approvals.publishing.run_publishing import run_publish_execute
    from studio.runs.models import ProductionRun

    run = ProductionRun.objects.filter(workspace=workspace).order_by("pk").first()  # approved history
    client = Client()
    client.force_login(marketer)
    url = reverse("publishing:run_publish", args=[workspace.slug, run.pk])
    with (
        mock.patch("studio.core.outbox.services.task_send"),
        mock.patch("approvals.publishing.tasks.publication_render.delay"),
    ):
        wall, cpu = time.perf_counter(), time.process_time()
        assert client.post(url).status_code == 200
        post = (time.perf_counter() - wall, time.process_time() - cpu)
        wall, cpu = time.perf_counter(), time.process_time()
        started = run_publish_execute(run=run, actor=marketer)
        checks = (time.perf_counter() - wall, time.process_time() - cpu)
    print(
        f"publish a {run.cells.count()}-cell run: the POST {post[0]:.2f} s wall ({post[1]:.2f} s CPU); the "
        f"per-image checks, now in a task, {checks[0]:.2f} s wall ({checks[1]:.2f} s CPU) for "
        f"{len(started.queued)} queued and {len(started.refused)} refused"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--formats", type=int, default=10)
    parser.add_argument("--locales", type=int, default=100)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--no-launch", action="store_true", help="skip timing a launch of formats x locales")
    args = parser.parse_args()
    connection, old_name = _setup()
    status = 0
    try:
        from django.test import Client
        from django.urls import reverse

        started = time.perf_counter()
        data = seed(args.formats, args.locales)
        run, workspace = data["run"], data["workspace"]
        cells = args.formats * args.locales
        print(f"seeded a {cells}-cell run (+20 runs of history) in {time.perf_counter() - started:.1f}s")
        client = Client()
        client.force_login(data["reviewer"])
        review = reverse("approvals:run_review", args=[workspace.slug, run.pk])
        publish = reverse("publishing:run_publish", args=[workspace.slug, run.pk])
        run_page = reverse("runs:run", args=[workspace.slug, run.pk])
        since = int(time.time() * 1000) + 1  # a poll just after the last one: nothing changed since
        marketer = Client()
        marketer.force_login(data["marketer"])
        pages = [
            ("baseline: the login page", Client(), reverse("login")),
            (
                "baseline: the review queue (25 rows)",
                client,
                reverse("approvals:workspace_queue", args=[workspace.slug]),
            ),
            ("run review, page 1 (50 cells)", client, review),
            ("run review, state=awaiting & verdict=allow", client, review + "?state=awaiting&verdict=allow"),
            ("run review, page 10", client, review + "?page=10"),
            ("run publish plan (all cells)", marketer, publish),
            ("run page (marketer)", marketer, run_page),
            ("run page, htmx poll (whole live region)", marketer, run_page + "?poll=3&seen=0", True),
            ("run page, live poll (changed cells only)", marketer, run_page + f"?poll=3&seen=0&since={since}", True),
        ]
        # CPU ms: this process's CPU time per request (median), steadier than wall time on a shared machine.
        print(f"{'page':48} {'p50 ms':>8} {'p95 ms':>8} {'CPU ms':>8} {'queries':>8} {'KB':>6}")
        for label, who, url, *htmx in pages:
            p50, p95, cpu, queries, size = time_page(who, url, args.requests, htmx=bool(htmx))
            flag = "" if p95 <= GOAL_P95_MS else f"  (over the {GOAL_P95_MS:.0f} ms goal)"
            print(f"{label:48} {p50:8.1f} {p95:8.1f} {cpu:8.1f} {queries:8d} {size / 1024:6.0f}{flag}")
            if label.startswith(("run review", "run page")) and p95 > GOAL_P95_MS:
                status = 1
        if not args.no_launch:
            time_launch(workspace=workspace, n_formats=args.formats, n_locales=args.locales)
            time_publish(marketer=data["marketer"], workspace=workspace)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    return status


if __name__ == "__main__":
    sys.exit(main())
