"""Drafts and their immutable versions, and the prompt a version composes to."""

from __future__ import annotations

import re

from django.db import transaction

from studio.core.models import Role
from studio.core.permissions import require_role
from studio.generation import events
from studio.generation.errors import StudioError
from studio.generation.locks import campaign_lock
from studio.generation.models import Campaign, DraftVersion, PromptDraft, PromptTemplate

TEMPLATE_VARIABLE = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)\}")


@transaction.atomic
def draft_create(
    *,
    actor,
    campaign: Campaign,
    title: str,
    text: str,
    variables: dict | None = None,
    locale_copy: dict | None = None,
    template: PromptTemplate | None = None,
) -> PromptDraft:
    """A new draft with its first version, so every image can name the exact text it came from."""
    require_role(actor, campaign.workspace, Role.MARKETER, action="write drafts")
    if template is not None and template.workspace_id != campaign.workspace_id:
        raise StudioError("That template belongs to another workspace.")
    # Lock order (studio.generation.locks): the campaign before the audit chain head, so the deferred
    # foreign-key check at COMMIT never waits for a settling job while this holds the chain head.
    campaign_lock(campaign.pk)
    draft = PromptDraft(workspace=campaign.workspace, campaign=campaign, title=title.strip(), created_by=actor)
    draft.full_clean()
    draft.save()
    version = DraftVersion(
        draft=draft,
        number=1,
        text=text.strip(),
        variables=variables or {},
        locale_copy=locale_copy or {},
        template=template,
        created_by=actor,
    )
    version.full_clean()
    version.save()
    events.draft_created(draft=draft, version=version, actor=actor)
    return draft


@transaction.atomic
def draft_version_add(
    *,
    actor,
    draft: PromptDraft,
    text: str,
    variables: dict | None = None,
    locale_copy: dict | None = None,
) -> DraftVersion:
    """Versions are immutable; saving an edited draft adds one (unchanged text adds nothing)."""
    require_role(actor, draft.workspace, Role.MARKETER, action="edit drafts")
    # Lock order (studio.generation.locks): campaign, then the draft, then the audit chain head last.
    campaign_lock(draft.campaign_id)
    draft = PromptDraft.objects.select_for_update(of=("self",), no_key=True).get(pk=draft.pk)
    latest = draft.versions.order_by("-number").first()
    text = text.strip()
    variables = variables or {}
    locale_copy = locale_copy or {}
    if latest and (latest.text, latest.variables, latest.locale_copy) == (text, variables, locale_copy):
        return latest
    version = DraftVersion(
        draft=draft,
        number=(latest.number + 1) if latest else 1,
        text=text,
        variables=variables,
        locale_copy=locale_copy,
        created_by=actor,
    )
    version.full_clean()
    version.save()
    draft.save(update_fields=["updated_at"])
    events.draft_version_added(draft=draft, version=version, actor=actor)
    return version


def prompt_compose(*, version: DraftVersion, locale: str = "", instruction: str = "") -> str:
    """The full prompt as sent. The workspace style guide comes first and unchanged so providers can
    serve it from the prompt cache; then the draft text with its variables filled in; then the in-image
    copy for the locale, in a fixed phrasing the offline renderer and reviewers recognise."""
    workspace = version.draft.workspace
    variables = version.variables or {}
    body = TEMPLATE_VARIABLE.sub(lambda m: str(variables.get(m.group(1), m.group(0))), version.text)
    parts = []
    if workspace.style_guide.strip():
        parts.append(f"Brand style: {workspace.style_guide.strip()}")
    parts.append(body)
    copy = (version.locale_copy or {}).get(locale) if locale else None
    if copy is None and not locale and version.locale_copy:
        # No locale chosen: use the first default locale's copy if the draft has it.
        for candidate in workspace.default_locales or []:
            if candidate in version.locale_copy:
                locale, copy = candidate, version.locale_copy[candidate]
                break
    if copy:
        parts.append(f'In-image text ({locale}): "{copy}"')
    if instruction:
        parts.append(f"Edit: {instruction.strip()}")
    return "\n\n".join(parts)


def missing_variables(version: DraftVersion) -> list[str]:
    names = TEMPLATE_VARIABLE.findall(version.text)
    return [n for n in dict.fromkeys(names) if n not in (version.variables or {})]
