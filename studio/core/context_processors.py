"""Navigation context shared by every page: the user's roles and unread notifications (both core's)."""

from typing import Any

from django.http import HttpRequest

from studio.core.models import Membership, Notification


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    memberships = list(Membership.objects.filter(user=user).select_related("workspace").order_by("workspace__name"))
    roles = sorted({m.get_role_display() for m in memberships})
    workspaces = sorted({m.workspace.name for m in memberships})
    label = " / ".join(roles)
    if len(workspaces) == 1:
        label = f"{label} · {workspaces[0]}"
    return {
        "nav_unread_count": Notification.objects.filter(user=user, read_at__isnull=True).count(),
        "nav_role_label": label,
    }
