"""Every failed sign-in (the product's login page and the admin's alike; django.contrib.auth sends the
signal for both, with the password already masked) is logged, and audited in each workspace the named
user belongs to, up to and including the failure that locks the username and address out. django-axes
counts the same signal for its lockout.

Attempts made while locked out are logged only: django.contrib.auth sends the signal for them too (axes'
backend refuses them with PermissionDenied), so anyone could otherwise append to a workspace's chain
without limit and compete for its head lock. Axes' receiver runs first (``axes`` comes before this app in
``INSTALLED_APPS``) and leaves the count on the request: the locking failure is the one that reaches the
limit; an attempt refused while locked out finds the count above it (or, when axes does not count those,
none at all)."""

from __future__ import annotations

import logging
from typing import Any

from axes.helpers import get_failure_limit
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


def _locked_before(request: HttpRequest | None, credentials: dict[str, Any]) -> bool:
    """Was the sign-in refused because the pair was locked out already (not locked by this failure)?"""
    failures = getattr(request, "axes_failures_since_start", None)
    return failures is None or failures > get_failure_limit(request, credentials)


@receiver(user_login_failed, dispatch_uid="imprimatur-login-failed")
def login_failed_record(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any):
    """Log and audit one failed sign-in. Only the username is read from ``credentials``."""
    username = str(credentials.get(get_user_model().USERNAME_FIELD) or credentials.get("username") or "")[:150]
    ip = _ip(request)
    locked_out = bool(getattr(request, "axes_locked_out", False))
    was_locked = locked_out and _locked_before(request, credentials)
    logger.warning(
        "Failed sign-in for username=%r from ip=%s locked_out=%s%s",
        username,
        ip,
        locked_out,
        " (already locked out: not audited)" if was_locked else "",
    )
    if not username or was_locked:
        return
    user = get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: username}).first()
    if user is None:
        return
    for workspace in Workspace.objects.filter(memberships__user=user).distinct().order_by("pk"):
        with transaction.atomic():
            auth_events.login_failed(workspace=workspace, user=user, ip=ip, locked_out=locked_out)
