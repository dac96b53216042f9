"""Which header links a user may follow: a link never leads to a "you can't open this" page for the
person's roles (issue 14), so the header hides it. One query per request (roles in all workspaces)."""

from __future__ import annotations

from django import template

from studio.core.models import Membership
from studio.core.permissions import AUDIT_READERS, BRAND_DECIDERS, COMPLIANCE_DECIDERS, GENERATORS

register = template.Library()

# Header label -> the roles (in any workspace) that make the page useful. Labels not listed show always.
NEEDS = {
    "Review queue": BRAND_DECIDERS | COMPLIANCE_DECIDERS,
    "Compliance": AUDIT_READERS,
    "Costs": GENERATORS,  # marketers and workspace admins: approvals.costs.views admits no one else
}


def all_roles(user) -> set[str]:
    if not getattr(user, "is_authenticated", False):
        return set()
    cached = user.__dict__.get("_imprimatur_all_roles")
    if cached is None:
        cached = set(Membership.objects.filter(user=user).values_list("role", flat=True))
        user.__dict__["_imprimatur_all_roles"] = cached
    return cached


@register.simple_tag(takes_context=True)
def nav_hidden(context: template.Context) -> set[str]:
    """The header labels to leave out for the signed-in user."""
    request = context.get("request")
    roles = all_roles(getattr(request, "user", None))
    return {label for label, needed in NEEDS.items() if not roles & needed}
