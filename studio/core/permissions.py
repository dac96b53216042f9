"""Who may do what, per workspace. Lookups raise 404 for both missing and forbidden objects (no id
probing); denied actions raise named ``PermissionDenied`` subclasses with a message a person can read."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from studio.core.models import Membership, Role, Workspace


class RoleRequired(PermissionDenied):
    """The user lacks the role this action needs in this workspace."""


class SelfApprovalForbidden(PermissionDenied):
    """The creator of a variant (or of any version in its lineage) cannot approve it."""


class SeparationOfDuties(PermissionDenied):
    """One person cannot decide both the brand and the compliance stage."""


ROLE_LABELS = dict(Role.choices)


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


def has_role(user, workspace: Workspace, *roles: str) -> bool:
    granted = user_roles(user, workspace)
    return Role.ADMIN in granted or bool(granted.intersection(roles))


def require_role(user, workspace: Workspace, *roles: str, action: str = "do this") -> None:
    """Raise ``RoleRequired`` unless the user holds one of ``roles`` (workspace admins hold all)."""
    if not has_role(user, workspace, *roles):
        needed = " or ".join(ROLE_LABELS[r].lower() for r in roles)
        raise RoleRequired(f"Only a {needed} can {action} in {workspace.name}.")


def workspaces_for(user) -> QuerySet[Workspace]:
    return Workspace.objects.filter(memberships__user=user).distinct().order_by("name")


def workspace_for_user(user, slug: str) -> Workspace:
    """The workspace with ``slug`` if the user is a member, else 404 (same answer for both cases)."""
    workspace = Workspace.objects.filter(slug=slug, memberships__user=user).distinct().first()
    if workspace is None:
        raise Http404("No such workspace")
    return workspace


def members_with_role(workspace: Workspace, roles: Iterable[str]) -> QuerySet:
    from django.contrib.auth import get_user_model

    return (
        get_user_model()
        .objects.filter(memberships__workspace=workspace, memberships__role__in=list(roles))
        .distinct()
        .order_by("pk")
    )
