"""Every failed sign-in (the product's login page and the admin's alike; django.contrib.auth sends the
signal for both, with the password already masked) is logged, and audited in each workspace the named
user belongs to. django-axes counts the same signal for its lockout."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest

from studio.core import auth_events
from studio.core.models import Workspace

logger = logging.getLogger("imprimatur.auth")


def _ip(request: HttpRequest | None) -> str:
    if request is None:
        return ""
    return getattr(request, "axes_ip_address", "") or request.META.get("REMOTE_ADDR", "")


@receiver(user_login_failed, dispatch_uid="imprimatur-login-failed")
def login_failed_record(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any):
    """Log and audit one failed sign-in. Only the username is read from ``credentials``."""
    username = str(credentials.get(get_user_model().USERNAME_FIELD) or credentials.get("username") or "")[:150]
    ip = _ip(request)
    locked_out = bool(getattr(request, "axes_locked_out", False))
    logger.warning("Failed sign-in for username=%r from ip=%s locked_out=%s", username, ip, locked_out)
    if not username:
        return
    user = get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: username}).first()
    if user is None:
        return
    for workspace in Workspace.objects.filter(memberships__user=user).distinct().order_by("pk"):
        with transaction.atomic():
            auth_events.login_failed(workspace=workspace, user=user, ip=ip, locked_out=locked_out)
