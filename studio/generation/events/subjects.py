"""Subject kinds of the studio's audit events, and how the compliance log names and links them.

The machine names are part of the hash chain and never change; titles, labels and links are presentation
(``studio.core.subjects``). Workspaces and memberships are core models, named here because the studio's
events are about them and its pages show them.
"""

from __future__ import annotations

from typing import Any

from studio.core.models import Role
from studio.core.subjects import Values, of_title, quoted, subject_kind_register

_ROLE_WORDS = {role.value: role.label.lower() for role in Role}


def variant_words(variant_id: Any, title: Any) -> str:
    """“Spring sale” variant #42 (the words other apps' labels use for an image too)."""
    return f"{quoted(title)} variant #{variant_id}".strip()


def _membership_words(values: Values, pk: str) -> str:
    username = values.get("username")
    role = _ROLE_WORDS.get(values.get("role"), "")
    return f"{username} as {role}" if username and role else (username or "")


VARIANT = subject_kind_register(
    "studio.variant",
    title="Image",
    noun="variant",
    model="studio.Variant",
    fields={"title": "draft__title"},
    label=lambda v, pk: variant_words(pk, v.get("title")),
    link=lambda v, pk, slug: ("compliance:trail", [slug, pk]),  # an image's whole story, for an auditor
)
JOB = subject_kind_register(
    "studio.generationjob",
    title="Generation",
    noun="generation",
    model="studio.GenerationJob",
    fields={"title": "draft_version__draft__title", "campaign": "campaign__name"},
    label=lambda v, pk: of_title(f"generation #{pk}", v.get("title") or v.get("campaign")),
    link=lambda v, pk, slug: ("studio:job_status", [slug, pk]),
)
DRAFT = subject_kind_register(
    "studio.promptdraft",
    title="Draft",
    noun="draft",
    model="studio.PromptDraft",
    fields={"title": "title"},
    label=lambda v, pk: quoted(v.get("title")),
    link=lambda v, pk, slug: ("studio:draft", [slug, pk]),
)
DEPLOYMENT = subject_kind_register(
    "studio.deployment",
    title="Deployment",
    noun="deployment",
    model="studio.Deployment",
    fields={"name": "name"},
    label=lambda v, pk: f"the deployment {quoted(v.get('name'))}",
)
WORKSPACE = subject_kind_register(
    "studio.workspace",
    title="Workspace",
    noun="workspace",
    model="core.Workspace",
    fields={"name": "name", "slug": "slug"},
    label=lambda v, pk: v.get("name") or "",
    link=lambda v, pk, slug: ("studio:workspace", [v.get("slug") or slug]),
)
MEMBERSHIP = subject_kind_register(
    "studio.membership",
    title="Membership",
    noun="membership",
    model="core.Membership",
    fields={"username": "user__username", "role": "role"},
    label=_membership_words,
)
CAMPAIGN = subject_kind_register(
    "studio.campaign",
    title="Campaign",
    noun="campaign",
    model="studio.Campaign",
    fields={"name": "name", "slug": "slug"},
    label=lambda v, pk: f"the campaign {quoted(v.get('name'))}" if v.get("name") else "",
    link=lambda v, pk, slug: ("studio:campaign", [slug, v.get("slug")]),
)
PRICE_TABLE = subject_kind_register(
    "studio.pricetable",
    title="Price table",
    noun="price table",
    model="studio.PriceTable",
    fields={"model_name": "model_name"},
    label=lambda v, pk: f"price table #{pk} for {v['model_name']}" if v.get("model_name") else "",
)
