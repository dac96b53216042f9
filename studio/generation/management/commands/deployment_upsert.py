"""`manage.py deployment_upsert`: create or update a deployment from the command line (ops, CI, demos).

The same validation as the admin (``full_clean``) and an audit event in the same transaction. The key is
never passed here: only the NAME of the environment variable that will hold it, and anything that does not
look like a variable name is refused so a pasted secret never reaches the database or the audit log.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from studio.core.audit import audit_append
from studio.core.models import Workspace
from studio.generation.catalog import catalog_sync
from studio.generation.models import AzureSurface, CapabilityProfile, Deployment, ProviderKind

ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
DEFAULT_PROFILE = "gpt-image-2"
AUDITED_FIELDS = ("provider", "endpoint", "model", "api_version", "secret_env", "azure_surface", "profile")


class Command(BaseCommand):
    help = "Create or update a deployment (where images come from) in a workspace."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="Workspace slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--provider", required=True, choices=ProviderKind.values)
        parser.add_argument("--endpoint")
        parser.add_argument("--model", help="Model id, or the Azure deployment name")
        parser.add_argument("--api-version", dest="api_version")
        parser.add_argument("--secret-env", dest="secret_env", help="NAME of the env var holding the key")
        parser.add_argument("--profile", help="Capability profile name (default: one named like the model)")
        parser.add_argument("--surface", choices=AzureSurface.values, help="Azure surface: v1 or deployments")

    def handle(self, *args, **opts):
        secret_env = opts.get("secret_env")
        if secret_env is not None and not ENV_NAME.match(secret_env):
            raise CommandError(
                "--secret-env must be the NAME of an environment variable (like AZURE_OPENAI_KEY), not the key "
                "itself; nothing was saved."
            )
        with transaction.atomic():
            deployment, created = self._upsert(opts)
        verb = "Created" if created else "Updated"
        self.stdout.write(
            f"{verb} deployment {deployment.name} ({deployment.get_provider_display()}, "
            f"model {deployment.model}, profile {deployment.profile.name})."
        )

    def _profile(self, opts, model: str) -> CapabilityProfile:
        if opts.get("profile"):
            profile = CapabilityProfile.objects.filter(name=opts["profile"]).first()
            if profile is None:
                raise CommandError(f"No capability profile named {opts['profile']!r}.")
            return profile
        return CapabilityProfile.objects.filter(name=model).first() or CapabilityProfile.objects.get(
            name=DEFAULT_PROFILE
        )

    def _upsert(self, opts) -> tuple[Deployment, bool]:
        catalog_sync()
        workspace = Workspace.objects.filter(slug=opts["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace with slug {opts['workspace']!r}.")
        deployment = Deployment.objects.select_for_update().filter(workspace=workspace, name=opts["name"]).first()
        created = deployment is None
        before = {} if created else {f: str(getattr(deployment, f)) for f in AUDITED_FIELDS}
        if created:
            deployment = Deployment(workspace=workspace, name=opts["name"], model=opts.get("model") or DEFAULT_PROFILE)
        deployment.provider = opts["provider"]
        for option, field in (
            ("endpoint", "endpoint"),
            ("model", "model"),
            ("api_version", "api_version"),
            ("secret_env", "secret_env"),
            ("surface", "azure_surface"),
        ):
            if opts.get(option) is not None:
                setattr(deployment, field, opts[option])
        if created or opts.get("profile") or opts.get("model"):
            deployment.profile = self._profile(opts, deployment.model)
        try:
            deployment.full_clean()
        except ValidationError as exc:
            problems = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
            raise CommandError(f"The deployment is not valid: {problems}") from exc
        deployment.save()
        after = {f: str(getattr(deployment, f)) for f in AUDITED_FIELDS}
        changes = {f: after[f] for f in AUDITED_FIELDS if before.get(f) != after[f]}
        audit_append(
            workspace=workspace,
            actor=None,
            action="studio.deployment.created" if created else "studio.deployment.updated",
            subject=deployment,
            data={"name": deployment.name, "changes": changes, "via": "manage.py deployment_upsert"},
        )
        return deployment, created
