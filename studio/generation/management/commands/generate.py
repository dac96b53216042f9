"""`manage.py generate`: create a job exactly as the UI does (same services, safety and budget checks).

Without --wait the job is enqueued and its id printed; with --wait the task code runs in this process
(same retries and checks, no worker needed). Exits non-zero when the job did not succeed.
"""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from studio.core.errors import Refusal, refusal_message
from studio.core.models import Membership, Role, Workspace
from studio.generation import services
from studio.generation.forms import parse_size
from studio.generation.models import Campaign, Deployment, JobStatus


class Command(BaseCommand):
    help = "Generate images through a deployment, with the same checks as the web UI."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True)
        parser.add_argument("--deployment", required=True)
        parser.add_argument("--prompt", required=True)
        parser.add_argument("--size", required=True, help="Target size WxH, e.g. 1200x628")
        parser.add_argument("--n", type=int, default=1)
        parser.add_argument("--quality", default="auto")
        parser.add_argument("--output-format", default="png")
        parser.add_argument("--campaign", help="Campaign slug (default: the workspace's newest)")
        parser.add_argument("--user", help="Acting marketer's username (default: the first marketer)")
        parser.add_argument("--wait", action="store_true")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **opts):
        try:
            workspace = Workspace.objects.get(slug=opts["workspace"])
        except Workspace.DoesNotExist as exc:
            raise CommandError(f"No workspace with slug {opts['workspace']!r}.") from exc
        try:
            deployment = Deployment.objects.select_related("profile").get(workspace=workspace, name=opts["deployment"])
        except Deployment.DoesNotExist as exc:
            raise CommandError(f"No deployment named {opts['deployment']!r} in {workspace.slug}.") from exc
        campaigns = Campaign.objects.filter(workspace=workspace).order_by("-created_at")
        campaign = campaigns.filter(slug=opts["campaign"]).first() if opts["campaign"] else campaigns.first()
        if campaign is None and opts["campaign"]:
            raise CommandError(f"No campaign {opts['campaign']!r} in {workspace.slug}.")
        if campaign is None:
            raise CommandError(f"{workspace.slug} has no campaign yet: create one first.")
        actor = self._actor(workspace, opts.get("user"))
        try:
            width, height = parse_size(opts["size"])
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        prompt = opts["prompt"].strip()
        if not prompt:
            raise CommandError("The prompt is empty: describe the image you want.")
        # The draft's title is the prompt's first line, as a marketer would name it in the UI.
        title = prompt.splitlines()[0][:80].strip()

        try:
            with transaction.atomic():
                draft = services.draft_create(actor=actor, campaign=campaign, title=title, text=prompt)
                job = services.job_launch(
                    actor=actor,
                    version=draft.versions.get(),
                    request=services.LaunchRequest(
                        deployment=deployment,
                        target_width=width,
                        target_height=height,
                        n=opts["n"],
                        quality=opts["quality"],
                        output_format=opts["output_format"],
                    ),
                    # --wait runs the job here; a worker must not run (and pay for) it a second time.
                    enqueue=not opts["wait"],
                )
        except (Refusal, PermissionDenied) as exc:
            details = "; ".join(f"{k}: {v}" for k, v in getattr(exc, "field_errors", {}).items())
            raise CommandError(refusal_message(exc) + (f" ({details})" if details else "")) from exc
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc

        if not opts["wait"]:
            self._print(
                opts,
                {"job": job.pk, "status": job.status, "estimated_cost": str(job.estimated_cost)},
                f"Enqueued job {job.pk}",
            )
            return
        job = services.job_run_inline(job_id=job.pk)
        for variant in job.variants.all():
            services.variant_screen_inline(variant_id=variant.pk)
        job.refresh_from_db()
        payload = {
            "job": job.pk,
            "status": job.status,
            "estimated_cost": str(job.estimated_cost),
            "actual_cost": None if job.actual_cost is None else str(job.actual_cost),
            "planned_size": job.planned_size,
            "route": job.route,
            "variants": [
                {
                    "id": v.pk,
                    "width": v.width,
                    "height": v.height,
                    "sha256": v.sha256,
                    "status": v.status,
                    "safety_verdict": v.safety_verdict,
                }
                for v in job.variants.order_by("index")
            ],
            "error": job.error_message or None,
        }
        self._print(
            opts,
            payload,
            f"Job {job.pk}: {job.get_status_display()} · {len(payload['variants'])} "
            f"variant(s) · cost {payload['actual_cost']}" + (f" · {job.error_message}" if job.error_message else ""),
        )
        if job.status != JobStatus.SUCCEEDED:
            raise SystemExit(1)

    def _actor(self, workspace, username):
        memberships = Membership.objects.filter(workspace=workspace, role__in=[Role.MARKETER, Role.ADMIN])
        if username:
            user = get_user_model().objects.filter(username=username).first()
            if user is None:
                raise CommandError(f"No user {username!r}.")
            return user
        membership = memberships.select_related("user").order_by("role", "pk").first()
        if membership is None:
            raise CommandError("The workspace has no marketer; pass --user.")
        return membership.user

    def _print(self, opts, payload, line):
        self.stdout.write(json.dumps(payload) if opts["json"] else line)
