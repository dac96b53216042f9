"""Factories and helpers for review tests: people with roles, variants with lineage, submitted reviews."""

from __future__ import annotations

from studio.core.models import Role
from studio.generation.models import VariantStatus
from studio.safety.models import SafetyVerdict
from tests import factories as f


def member(workspace, username: str, role: str = Role.MARKETER, **extra):
    user = f.UserFactory(username=username, **extra)
    f.MembershipFactory(user=user, workspace=workspace, role=role)
    return user


def variant_for(
    workspace, *, creator, campaign=None, verdict=SafetyVerdict.ALLOW, status=VariantStatus.READY, parents=(), **extra
):
    """A ready variant in ``workspace`` made by ``creator`` (optionally an edit of ``parents``)."""
    campaign = campaign or f.CampaignFactory(workspace=workspace)
    draft = f.PromptDraftFactory(campaign=campaign, workspace=workspace, created_by=creator)
    version = f.DraftVersionFactory(draft=draft, created_by=creator)
    deployment = f.DeploymentFactory(workspace=workspace)
    job_extra = {k: extra.pop(k) for k in ("target_format", "locale") if k in extra}
    job = f.GenerationJobFactory(
        draft_version=version,
        campaign=campaign,
        workspace=workspace,
        deployment=deployment,
        created_by=creator,
        **job_extra,
    )
    variant = f.VariantFactory(
        job=job,
        workspace=workspace,
        draft=draft,
        created_by=creator,
        safety_verdict=verdict,
        status=status,
        locale=job_extra.get("locale", ""),
        **extra,
    )
    if parents:
        variant.parents.add(*parents)
    return variant
