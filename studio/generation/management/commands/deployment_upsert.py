"""`manage.py deployment_upsert`: create or update a deployment from the command line (ops, CI, demos).

The work (the admin's validation and the audit event, in one transaction) is the ``deployment_upsert``
service; this command parses options and reports. The key is never passed here: only the NAME of the
environment variable that will hold it, and anything that does not look like a variable name is refused
so a pasted secret never reaches the database or the audit log.
"""

from __future__ import annotations

import re

from django.core.management.base import BaseCommand, CommandError

from studio.core.errors import Refusal
from studio.core.models import Workspace
from studio.generation.models import AzureSurface, ProviderKind
from studio.generation.services import deployment_upsert

ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
OPTION_FIELDS = (
    ("endpoint", "endpoint"),
    ("model", "model"),
    ("api_version", "api_version"),
    ("secret_env", "secret_env"),
    ("surface", "azure_surface"),
    ("timeout", "request_timeout_seconds"),
    ("retry_budget", "retry_budget_seconds"),
    ("max_concurrency", "max_concurrency"),
    ("rpm", "requests_per_minute"),
)


class Command(BaseCommand):
    help = "Create or update a deployment (where images come from) in a workspace."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="Workspace slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--provider", required=True, choices=ProviderKind.values)
        parser.add_argument("--endpoint")
        parser.add_argument("--model", help="Model id, or the Azure deployment name")
        parser.add_argument("--api-version", dest="api_version")
        parser.add_argument(
            "--secret-env",
            dest="secret_env",
            help=(
                "NAME of the env var holding the key; it must start with IMPRIMATUR_SECRET_ENV_PREFIX "
                "(default IMPRIMATUR_KEY_) or be listed in IMPRIMATUR_SECRET_ENV_ALLOWLIST"
            ),
        )
        parser.add_argument("--profile", help="Capability profile name (default: one named like the model)")
        parser.add_argument("--surface", choices=AzureSurface.values, help="Azure surface: v1 or deployments")
        parser.add_argument(
            "--timeout",
            type=int,
            help="Seconds one call may take before it is abandoned (at least 5; default 120)",
        )
        parser.add_argument(
            "--retry-budget",
            dest="retry_budget",
            type=int,
            help="Seconds a job keeps retrying through an outage of this deployment (default 600)",
        )
        parser.add_argument(
            "--max-concurrency",
            dest="max_concurrency",
            type=int,
            help="Requests in flight at once for this deployment, across all workers (at least 1; default 4)",
        )
        parser.add_argument(
            "--rpm", type=int, help="Requests per minute for this deployment, across all workers (0 = no limit)"
        )

    def handle(self, *args, **opts):
        secret_env = opts.get("secret_env")
        if secret_env is not None and not ENV_NAME.match(secret_env):
            raise CommandError(
                "--secret-env must be the NAME of an environment variable (like IMPRIMATUR_KEY_AZURE), not the key "
                "itself; nothing was saved."
            )
        workspace = Workspace.objects.filter(slug=opts["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace with slug {opts['workspace']!r}.")
        try:
            result = deployment_upsert(
                actor=None,
                workspace=workspace,
                name=opts["name"],
                provider=opts["provider"],
                fields={field: opts.get(option) for option, field in OPTION_FIELDS},
                profile=opts.get("profile"),
                via="manage.py deployment_upsert",
            )
        except Refusal as exc:
            raise CommandError(exc.message) from exc
        deployment = result.deployment
        verb = "Created" if result.created else "Updated"
        self.stdout.write(
            f"{verb} deployment {deployment.name} ({deployment.get_provider_display()}, "
            f"model {deployment.model}, profile {deployment.profile.name})."
        )
