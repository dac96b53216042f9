"""Sign-in events: a failed login is written to the chain of every workspace the named user belongs to,
so a workspace's compliance log shows someone guessing at one of its members' passwords.

The actor is nobody (the request is anonymous); the subject is the user whose name was typed. The
password is never part of the event or the log.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser

from studio.core.audit import audit_record
from studio.core.events import event_group, event_type
from studio.core.models import AuditEvent, Workspace
from studio.core.subjects import subject_kind_register

USER = subject_kind_register(  # sign-in events are about a user account: named by username, linked nowhere
    "auth.user",
    title="User account",
    noun="user",
    model=settings.AUTH_USER_MODEL,
    fields={"username": get_user_model().USERNAME_FIELD},
    label=lambda v, pk: v.get("username") or "",
)

event_group("core.login", "Sign-in")

LOGIN_FAILED = event_type(
    "core.login.failed",
    label="Sign-in failed",
    message="A sign-in as {username} failed from {ip}{lockout}",
    subject_kind=USER,
)


def login_failed(*, workspace: Workspace, user: AbstractBaseUser, ip: str, locked_out: bool) -> AuditEvent:
    return audit_record(
        LOGIN_FAILED,
        workspace=workspace,
        actor=None,
        subject=user,
        data={
            "username": user.get_username(),
            "ip": ip,
            "locked_out": locked_out,
            "lockout": " (account locked out)" if locked_out else "",
        },
    )
