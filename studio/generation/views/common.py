"""What the studio's pages share: the role flags every page shows, the draft page's context, and how a
view turns a refusal into words."""

from __future__ import annotations

import json

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from studio.core.errors import Refusal, refusal_message
from studio.core.models import Role
from studio.core.permissions import has_role
from studio.generation import selectors
from studio.generation.forms import DraftEditForm, GenerateForm
from studio.generation.services import missing_variables
from studio.lib.imaging import UploadRejected

# What a view catches around one action: every refusal a person should read. Permission refusals are
# ``Refusal``s too (``studio.core.errors.Forbidden``); ``PermissionDenied`` stays for any that are not yet.
# The upload checks live in the pure library, which knows no ``Refusal``: their ``UploadRejected`` carries
# its own ``message``.
REFUSED = (Refusal, PermissionDenied, UploadRejected)


def refusal_words(exc: Exception, *, with_fields: bool = False) -> str:
    """The refusal's message (plus its per-field messages when asked), in the person's words."""
    words = exc.message if isinstance(exc, UploadRejected) else refusal_message(exc)
    if with_fields:
        words += "".join(f" {message}" for message in getattr(exc, "field_errors", {}).values())
    return words


def role_context(user, workspace) -> dict:
    return {
        "workspace": workspace,
        "can_generate": has_role(user, workspace, Role.MARKETER),
        "can_review": has_role(user, workspace, Role.BRAND_REVIEWER, Role.COMPLIANCE),
        "can_publish": has_role(user, workspace, Role.MARKETER, Role.BRAND_REVIEWER),
    }


def draft_context(request: HttpRequest, workspace, draft, *, generate_form=None, edit_form=None) -> dict:
    version = draft.versions.order_by("-number").first()
    if generate_form is None:
        initial = {}
        first_format = draft.campaign.formats.order_by("name").first()
        if first_format:
            initial["target_format"] = first_format.pk
        generate_form = GenerateForm(workspace=workspace, campaign=draft.campaign, initial=initial)
    if edit_form is None:
        edit_form = DraftEditForm(
            initial={"text": version.text, "locale_copy": version.locale_copy, "variables": _json(version.variables)}
        )
    return {
        **role_context(request.user, workspace),
        "draft": draft,
        "campaign": draft.campaign,
        "version": version,
        "versions": draft.versions.order_by("-number")[:10],
        "draft_form": edit_form,
        "generate_form": generate_form,
        "jobs": selectors.jobs_for_draft(draft=draft),
        # Generate refuses a version with a {placeholder} left empty: the page says so before anyone clicks.
        "missing_values": missing_variables(version) if version else [],
    }


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False) if value else ""
