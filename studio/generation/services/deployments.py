"""Creating and changing deployments (where images come from) outside the admin: ops, CI and demos."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from studio.core.models import Workspace
from studio.generation import events
from studio.generation.catalog import catalog_sync
from studio.generation.errors import StudioError
from studio.generation.models import CapabilityProfile, Deployment

DEFAULT_PROFILE = "gpt-image-2"
AUDITED_FIELDS = ("provider", "endpoint", "model", "api_version", "secret_env", "azure_surface", "profile")
SETTABLE_FIELDS = ("endpoint", "model", "api_version", "secret_env", "azure_surface")
# How long one call may take and how long a job rides out an outage (issue 10): settable and audited too.
OUTAGE_FIELDS = ("request_timeout_seconds", "retry_budget_seconds")
AUDITED_FIELDS = (*AUDITED_FIELDS, *OUTAGE_FIELDS)
SETTABLE_FIELDS = (*SETTABLE_FIELDS, *OUTAGE_FIELDS)
# The limits every worker shares (studio.generation.limiter): requests in flight and per minute.
LIMIT_FIELDS = ("max_concurrency", "requests_per_minute")
AUDITED_FIELDS = (*AUDITED_FIELDS, *LIMIT_FIELDS)
SETTABLE_FIELDS = (*SETTABLE_FIELDS, *LIMIT_FIELDS)


@dataclass(frozen=True)
class DeploymentUpsert:
    deployment: Deployment
    created: bool
    changes: dict[str, str]


def _profile(*, name: str | None, model: str) -> CapabilityProfile:
    if name:
        profile = CapabilityProfile.objects.filter(name=name).first()
        if profile is None:
            raise StudioError(f"No capability profile named {name!r}.", field_errors={"profile": "Unknown profile."})
        return profile
    return CapabilityProfile.objects.filter(name=model).first() or CapabilityProfile.objects.get(name=DEFAULT_PROFILE)


@transaction.atomic
def deployment_upsert(
    *,
    actor,
    workspace: Workspace,
    name: str,
    provider: str,
    fields: dict[str, str | None],
    profile: str | None = None,
    via: str,
) -> DeploymentUpsert:
    """Create the workspace's deployment ``name`` or update it, with the admin's validation
    (``full_clean``) and one audit event naming what changed and through what (``via``). ``fields`` maps
    deployment fields to new values; ``None`` leaves a field as it is. The profile is re-chosen when it is
    given, the model changes, or the deployment is new (one named like the model, else the default)."""
    catalog_sync()
    deployment = Deployment.objects.select_for_update(no_key=True).filter(workspace=workspace, name=name).first()
    created = deployment is None
    before = {} if created else {f: str(getattr(deployment, f)) for f in AUDITED_FIELDS}
    if created:
        deployment = Deployment(workspace=workspace, name=name, model=fields.get("model") or DEFAULT_PROFILE)
    deployment.provider = provider
    for field in SETTABLE_FIELDS:
        if fields.get(field) is not None:
            setattr(deployment, field, fields[field])
    if created or profile or fields.get("model"):
        deployment.profile = _profile(name=profile, model=deployment.model)
    try:
        deployment.full_clean()
    except ValidationError as exc:
        problems = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
        raise StudioError(f"The deployment is not valid: {problems}") from exc
    deployment.save()
    after = {f: str(getattr(deployment, f)) for f in AUDITED_FIELDS}
    changes = {f: after[f] for f in AUDITED_FIELDS if before.get(f) != after[f]}
    record = events.deployment_created if created else events.deployment_updated
    record(deployment=deployment, actor=actor, changes=changes, via=via)
    return DeploymentUpsert(deployment=deployment, created=created, changes=changes)


ADMIN_AUDITED_FIELDS = (*AUDITED_FIELDS, "auth_mode", "is_default", "active", "routing")


def deployment_snapshot(deployment: Deployment) -> dict[str, str]:
    """The audited fields of ``deployment`` as text (the key's variable *name*, never its value)."""
    return {f: str(getattr(deployment, f)) for f in ADMIN_AUDITED_FIELDS}


@transaction.atomic
def deployment_admin_saved(*, actor, deployment: Deployment, before: dict[str, str] | None) -> dict[str, str]:
    """Record a deployment saved in the admin (``before`` is None when it was added) with the same events
    as ``deployment_upsert``: where images come from and whose key they use is a configuration decision
    the workspace's chain must show. The admin form already ran the model's validation."""
    after = deployment_snapshot(deployment)
    changes = {f: after[f] for f in ADMIN_AUDITED_FIELDS if (before or {}).get(f) != after[f]}
    if before is not None and not changes:
        return changes
    record = events.deployment_created if before is None else events.deployment_updated
    record(deployment=deployment, actor=actor, changes=changes, via="admin")
    return changes
