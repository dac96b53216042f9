"""Navigation context shared by every page: the user's workspaces and unread notifications."""

from typing import Any

from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from approvals.models import Notification

    return {
        "nav_unread_count": Notification.objects.filter(user=user, read_at__isnull=True).count(),
    }
