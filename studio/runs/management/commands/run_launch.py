"""`manage.py run_launch`: plan and launch a production run exactly as the web page does.

Without --wait the cells are enqueued on the "batch" queue and the run's id printed (``run_status RUN``
reports on it at any time); with --wait the cells run in this process, concurrently up to the
deployment's limits (the shared limiter applies here too), with the same services. Exits non-zero when any
cell did not succeed, or when the run is refused (the message says why; nothing is charged).
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from studio.core.errors import Refusal, refusal_message
from studio.core.models import Membership, Role, Workspace
from studio.generation.errors import JobRetry
from studio.generation.models import Campaign, Deployment, DraftVersion, Variant
from studio.generation.services.execution import variant_screen_inline
from studio.runs import selectors, services
from studio.runs.models import CellStatus
from studio.runs.planning import RunSpec


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def cell_run_inline(cell_id: int, *, sleep=time.sleep) -> None:
    """One cell in this process with the worker's retries, then its images' safety checks."""
    try:
        while True:
            try:
                cell = services.cell_execute(cell_id=cell_id)
                break
            except JobRetry as retry:
                sleep(min(retry.countdown, 300))
        if cell.job_id and cell.status == CellStatus.SUCCEEDED:
            for variant_id in Variant.objects.filter(job_id=cell.job_id).values_list("pk", flat=True):
                variant_screen_inline(variant_id=variant_id)
    finally:
        if not connection.in_atomic_block:
            connection.close()  # each thread has its own connection: give it back


def cells_run_inline(cell_ids: list[int], *, concurrency: int) -> None:
    if concurrency <= 1 or connection.in_atomic_block or len(cell_ids) <= 1:
        for cell_id in cell_ids:  # one transaction (tests) cannot be shared across threads
            cell_run_inline(cell_id)
        return
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="run-cell") as pool:
        list(pool.map(cell_run_inline, cell_ids))


class Command(BaseCommand):
    help = "Launch a production run (formats x locales) with the same checks and budget as the web UI."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True)
        parser.add_argument("--campaign", required=True)
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--draft", type=int, help="Draft id (its newest version is the source)")
        source.add_argument("--master", type=int, help="Approved master variant id to derive every cell from")
        parser.add_argument("--deployment", required=True)
        parser.add_argument("--formats", default="all", help="all, or format names separated by commas")
        parser.add_argument("--locales", default="all", help="all, or locales separated by commas")
        parser.add_argument("--n", type=int, default=1, help="Variants per cell")
        parser.add_argument("--quality", default="low")
        parser.add_argument("--only-what-fits", action="store_true", help="Over budget: launch the cells that fit")
        parser.add_argument("--user", help="Acting marketer's username (default: the first marketer)")
        parser.add_argument("--wait", action="store_true")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **opts):
        try:
            spec, actor = self._spec(opts)
            run = services.run_launch(
                actor=actor, spec=spec, only_what_fits=opts["only_what_fits"], enqueue=not opts["wait"]
            )
        except (Refusal, PermissionDenied) as exc:
            self._refused(opts, refusal_message(exc))
        except CommandError as exc:
            self._refused(opts, str(exc))
        if opts["wait"]:
            cell_ids = list(run.cells.order_by("pk").values_list("pk", flat=True))
            limit = max(1, spec.deployment.max_concurrency)
            cells_run_inline(cell_ids, concurrency=min(limit, len(cell_ids)))
            run.refresh_from_db()
        report = selectors.run_report(run=run)
        if opts["json"]:
            self.stdout.write(json.dumps(report, ensure_ascii=False))
        elif opts["wait"]:
            self.stdout.write(_summary(report))
        else:
            self.stdout.write(
                f"Run {run.pk} enqueued: {len(report['cells'])} cells, about ${report['estimated_cost']}."
            )
        if opts["wait"] and any(cell["status"] != CellStatus.SUCCEEDED for cell in report["cells"]):
            raise SystemExit(1)

    def _refused(self, opts, message: str):
        if opts["json"]:
            payload = {
                "run": None,
                "status": "refused",
                "estimated_cost": None,
                "actual_cost": None,
                "error": message,
                "cells": [],
            }
            self.stdout.write(json.dumps(payload, ensure_ascii=False))
            raise SystemExit(1)
        raise CommandError(message)

    def _spec(self, opts) -> tuple[RunSpec, object]:
        workspace = Workspace.objects.filter(slug=opts["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace with slug {opts['workspace']!r}.")
        campaign = Campaign.objects.filter(workspace=workspace, slug=opts["campaign"]).first()
        if campaign is None:
            raise CommandError(f"No campaign {opts['campaign']!r} in {workspace.slug}.")
        deployment = (
            Deployment.objects.select_related("profile").filter(workspace=workspace, name=opts["deployment"]).first()
        )
        if deployment is None:
            raise CommandError(f"No deployment named {opts['deployment']!r} in {workspace.slug}.")
        formats = list(campaign.formats.order_by("name"))
        if opts["formats"] != "all":
            wanted = _csv(opts["formats"])
            unknown = [name for name in wanted if name not in {fmt.name for fmt in formats}]
            if unknown:
                raise CommandError(f"No format named {', '.join(unknown)} in {campaign.slug}.")
            formats = [fmt for fmt in formats if fmt.name in wanted]
        locales = list(campaign.locales or []) if opts["locales"] == "all" else _csv(opts["locales"])
        version = master = None
        if opts["draft"] is not None:
            version = (
                DraftVersion.objects.filter(draft_id=opts["draft"], draft__workspace=workspace)
                .select_related("draft")
                .order_by("-number")
                .first()
            )
            if version is None:
                raise CommandError(f"No draft {opts['draft']} in {workspace.slug}.")
        else:
            master = (
                Variant.objects.select_related("job__draft_version__draft", "draft")
                .filter(workspace=workspace, pk=opts["master"])
                .first()
            )
            if master is None:
                raise CommandError(f"No variant {opts['master']} in {workspace.slug}.")
        spec = RunSpec(
            campaign=campaign,
            deployment=deployment,
            formats=formats,
            locales=locales,
            n=opts["n"],
            quality=opts["quality"],
            version=version,
            master=master,
        )
        return spec, self._actor(workspace, opts.get("user"))

    def _actor(self, workspace, username):
        if username:
            user = get_user_model().objects.filter(username=username).first()
            if user is None:
                raise CommandError(f"No user {username!r}.")
            return user
        memberships = Membership.objects.filter(workspace=workspace, role__in=[Role.MARKETER, Role.ADMIN])
        membership = memberships.select_related("user").order_by("role", "pk").first()
        if membership is None:
            raise CommandError("The workspace has no marketer; pass --user.")
        return membership.user


def _summary(report: dict) -> str:
    done = sum(1 for cell in report["cells"] if cell["status"] == CellStatus.SUCCEEDED)
    line = (
        f"Run {report['run']}: {report['status']} · {done}/{len(report['cells'])} cells done · "
        f"cost ${report['actual_cost']} (estimated ${report['estimated_cost']})"
    )
    return line + (f" · {report['error']}" if report["error"] else "")
