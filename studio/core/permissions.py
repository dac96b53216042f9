"""Who may do what, per workspace: every access rule of the product, with one meaning of each role.

Views and services ask the same named predicates (``can_publish(user, workspace)``), so a button is
shown exactly when the service behind it would accept the click.

=====================  ===================================================================================
Role                   Abilities in its workspace
=====================  ===================================================================================
any member             read the workspace's drafts, images and reviews; comment (``is_member``)
marketer               write drafts and generate, edit, re-run (``can_generate``); submit for review and ask
                       for a safety override (``can_submit``); publish approved images (``can_publish``)
brand reviewer         decide brand stages (``can_decide_stage(.., "brand")``); publish (``can_publish``)
compliance auditor     decide compliance stages and safety overrides (``can_decide_stage(.., "compliance")``);
                       read the audit log and decision trails (``can_read_audit``) and export them, audit
                       packs included (``can_export_audit``)
workspace admin        everything a marketer and a brand reviewer may; read and export the audit log;
                       administer the workspace (settings, deployments, members; ``can_administer``) and
                       receive escalations. NOT compliance decisions.
=====================  ===================================================================================

Two rules to keep in mind:

- "Admin holds every role" is true of every ability but one: compliance sign-off (compliance stages and
  safety overrides) needs an explicit compliance-auditor membership, because it must come from someone
  whose job is compliance, not from whoever holds the keys. ``has_role`` is the generic primitive with
  the admin shortcut; the predicates below are the rules, and ``can_decide_stage`` is the exception.
- "Admin can read the audit log" means: a workspace admin reads and exports that workspace's log, its
  decision trails and audit packs, exactly as a compliance auditor does (admins answer for the workspace
  and its configuration changes are in the log). Reading is not deciding: it gives no compliance sign-off.

Lookups raise 404 for both missing and forbidden objects (no id probing); denied actions raise the named
``Forbidden`` refusals below, with a message a person can read.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import Http404

from studio.core.errors import Forbidden
from studio.core.models import Membership, Role, Workspace


class RoleRequired(Forbidden):
    """The user lacks the role this action needs in this workspace."""

    code = "role_required"


class SelfApprovalForbidden(Forbidden):
    """The creator of a variant (or of any version in its lineage) cannot approve it."""

    code = "self_approval_forbidden"


class SeparationOfDuties(Forbidden):
    """One person cannot decide both the brand and the compliance stage."""

    code = "separation_of_duties"


ROLE_LABELS = dict(Role.choices)

# The review stage kinds, as the approvals app stores them (``approvals.reviews.models.StageKind``).
STAGE_BRAND = "brand"
STAGE_COMPLIANCE = "compliance"

# Which roles hold each ability. Admins are listed explicitly: the table is the whole rule.
GENERATORS = frozenset({Role.MARKETER, Role.ADMIN})
SUBMITTERS = frozenset({Role.MARKETER, Role.ADMIN})
PUBLISHERS = frozenset({Role.MARKETER, Role.BRAND_REVIEWER, Role.ADMIN})
BRAND_DECIDERS = frozenset({Role.BRAND_REVIEWER, Role.ADMIN})
COMPLIANCE_DECIDERS = frozenset({Role.COMPLIANCE})  # no admin: see the module docstring
STAGE_DECIDERS: dict[str, frozenset[str]] = {STAGE_BRAND: BRAND_DECIDERS, STAGE_COMPLIANCE: COMPLIANCE_DECIDERS}
AUDIT_READERS = frozenset({Role.COMPLIANCE, Role.ADMIN})
AUDIT_EXPORTERS = AUDIT_READERS
ADMINISTRATORS = frozenset({Role.ADMIN})


def user_roles(user, workspace: Workspace) -> set[str]:
    """Roles of ``user`` in ``workspace``. Cached per user object to keep query counts flat."""
    if not getattr(user, "is_authenticated", False):
        return set()
    cache = user.__dict__.setdefault("_imprimatur_roles", {})
    if workspace.pk not in cache:
        cache[workspace.pk] = set(
            Membership.objects.filter(user=user, workspace=workspace).values_list("role", flat=True)
        )
    return cache[workspace.pk]


def _holds(user, workspace: Workspace, roles: frozenset[str]) -> bool:
    return bool(user_roles(user, workspace) & roles)


def has_role(user, workspace: Workspace, *roles: str) -> bool:
    """Whether the user holds one of ``roles``, workspace admins holding every role. The generic check;
    prefer the named predicates, and never use it for compliance sign-off (``can_decide_stage``)."""
    granted = user_roles(user, workspace)
    return Role.ADMIN in granted or bool(granted.intersection(roles))


def require_role(user, workspace: Workspace, *roles: str, action: str = "do this") -> None:
    """Raise ``RoleRequired`` unless the user holds one of ``roles`` (workspace admins hold all)."""
    if not has_role(user, workspace, *roles):
        needed = " or ".join(ROLE_LABELS[r].lower() for r in roles)
        raise RoleRequired(f"Only a {needed} can {action} in {workspace.name}.")


# --- the abilities -----------------------------------------------------------------------------------


def is_member(user, workspace: Workspace) -> bool:
    """Any role at all: may read the workspace and comment."""
    return bool(user_roles(user, workspace))


def can_generate(user, workspace: Workspace) -> bool:
    """Write drafts; generate, edit, localise and re-run images."""
    return _holds(user, workspace, GENERATORS)


def can_submit(user, workspace: Workspace) -> bool:
    """Submit an image for review, or ask compliance to lift a safety block."""
    return _holds(user, workspace, SUBMITTERS)


def can_decide_stage(user, workspace: Workspace, kind: str) -> bool:
    """Decide a review stage of ``kind`` ("brand" or "compliance"). Unknown kinds: nobody."""
    return _holds(user, workspace, STAGE_DECIDERS.get(kind, frozenset()))


def can_decide_kind(user, workspace: Workspace, kind: str) -> bool:
    """The name the approvals app has always used for ``can_decide_stage``."""
    return can_decide_stage(user, workspace, kind)


def can_review(user, workspace: Workspace) -> bool:
    """Decide some stage in this workspace (what the studio's "review" links need)."""
    return any(can_decide_stage(user, workspace, kind) for kind in STAGE_DECIDERS)


def can_publish(user, workspace: Workspace) -> bool:
    """Publish an approved image (render its formats)."""
    return _holds(user, workspace, PUBLISHERS)


def can_read_audit(user, workspace: Workspace) -> bool:
    """Read the workspace's audit log and decision trails."""
    return _holds(user, workspace, AUDIT_READERS)


def can_export_audit(user, workspace: Workspace) -> bool:
    """Download the log (CSV/JSON), a trail as JSON, or an asset's audit pack."""
    return _holds(user, workspace, AUDIT_EXPORTERS)


def can_administer(user, workspace: Workspace) -> bool:
    """Change the workspace's settings, deployments and members; receive escalations."""
    return _holds(user, workspace, ADMINISTRATORS)


# --- workspaces and members --------------------------------------------------------------------------


def workspaces_for(user) -> QuerySet[Workspace]:
    return Workspace.objects.filter(memberships__user=user).distinct().order_by("name")


def workspaces_with_roles(user, roles: Iterable[str]) -> QuerySet[Workspace]:
    """Workspaces where ``user`` holds one of ``roles`` (pass an ability's role set, e.g.
    ``AUDIT_READERS``): one query, for pages that span workspaces."""
    if not getattr(user, "is_authenticated", False):
        return Workspace.objects.none()
    return (
        Workspace.objects.filter(memberships__user=user, memberships__role__in=list(roles)).distinct().order_by("name")
    )


def workspace_for_user(user, slug: str) -> Workspace:
    """The workspace with ``slug`` if the user is a member, else 404 (same answer for both cases)."""
    workspace = Workspace.objects.filter(slug=slug, memberships__user=user).distinct().first()
    if workspace is None:
        raise Http404("No such workspace")
    return workspace


def members_with_role(workspace: Workspace, roles: Iterable[str]) -> QuerySet:
    return (
        get_user_model()
        .objects.filter(memberships__workspace=workspace, memberships__role__in=list(roles))
        .distinct()
        .order_by("pk")
    )


def user_roles_remember(user, workspace: Workspace, roles) -> None:
    """Tell ``user_roles`` what ``user`` holds in ``workspace``, read by the caller in a query it made
    anyway (the API reads a key's user's roles in the query that finds the key), so the request's later
    checks ask the database nothing. Only for roles read in this request, never kept across requests."""
    user.__dict__.setdefault("_imprimatur_roles", {})[workspace.pk] = set(roles)
