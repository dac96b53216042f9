"""API key writes and the one lookup: make a key (shown once), revoke it, authenticate a request's key.

``apikey_create`` returns the key in clear exactly once (``IssuedKey.key``); only its prefix and SHA-256
are stored. Making and revoking are workspace-admin actions, audited (``approvals.api.events``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from approvals.api import events
from approvals.api.models import ApiKey, ApiScope
from studio.core.errors import InvalidInput, Refusal
from studio.core.models import Membership, Role, Workspace
from studio.core.permissions import RoleRequired, can_administer, is_member, user_roles_remember

KEY_PREFIX = "imp_live_"
_PREFIX_ID_CHARS = 10
_ALPHABET = string.ascii_letters + string.digits
# last_used_at is written at most this often per key, so a busy pipeline does not write on every request.
LAST_USED_RESOLUTION = timedelta(seconds=60)
MAX_NAME_CHARS = 100


class KeyRejected(Refusal):
    """The key in the request cannot be used (unknown, revoked, expired, its user gone): 401."""

    code = "invalid_api_key"
    status = 401
    default_message = "That API key is not valid."


@dataclass(frozen=True)
class IssuedKey:
    """A new key: ``key`` is the secret, shown once and never stored."""

    api_key: ApiKey
    key: str

    @property
    def prefix(self) -> str:
        return self.api_key.prefix


def key_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def scopes_clean(scopes) -> list[str]:
    """The scopes as stored: known names only, in a fixed order, at least one."""
    if isinstance(scopes, str):
        scopes = [part.strip() for part in scopes.split(",")]
    chosen = {s for s in (scopes or []) if s}
    unknown = chosen - set(ApiScope.values)
    if unknown:
        raise InvalidInput(
            f"Unknown scope {', '.join(sorted(unknown))}: choose from {', '.join(ApiScope.values)}.",
            field_errors={"scopes": "Choose read, generate, review or publish."},
        )
    if not chosen:
        raise InvalidInput("Choose at least one scope.", field_errors={"scopes": "Choose at least one scope."})
    return [s for s in ApiScope.values if s in chosen]


@transaction.atomic
def apikey_create(
    *, actor, workspace: Workspace, user, name: str, scopes, expires_at: datetime | None = None
) -> IssuedKey:
    """Make a key for ``user`` (a member of ``workspace``) with ``scopes``. ``actor`` must administer the
    workspace; the command line passes ``actor=None`` (the operator, recorded as the system)."""
    if actor is not None and not can_administer(actor, workspace):
        raise RoleRequired(f"Only a workspace admin can create API keys in {workspace.name}.")
    if not is_member(user, workspace):
        raise InvalidInput(
            f"{user.get_username()} is not a member of {workspace.name}, so a key could not act as them.",
            field_errors={"user": "Choose a member of this workspace."},
        )
    name = (name or "").strip() or "API key"
    if len(name) > MAX_NAME_CHARS or "\x00" in name:
        raise InvalidInput(f"Keep the name under {MAX_NAME_CHARS} characters.", field_errors={"name": "Too long."})
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput("The expiry date must be in the future.", field_errors={"expires_at": "In the past."})
    scopes = scopes_clean(scopes)
    prefix = KEY_PREFIX + _random(_PREFIX_ID_CHARS)
    raw = f"{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        workspace=workspace,
        user=user,
        name=name,
        prefix=prefix,
        key_hash=key_hash(raw),
        scopes=scopes,
        created_by=actor,
        expires_at=expires_at,
    )
    key.full_clean()
    key.save()
    events.key_created(key=key, actor=actor)
    return IssuedKey(api_key=key, key=raw)


@transaction.atomic
def apikey_revoke(*, actor, key: ApiKey) -> ApiKey:
    """Revoke ``key`` now; a second revoke changes nothing and writes nothing."""
    key = ApiKey.objects.select_for_update(of=("self",), no_key=True).select_related("workspace", "user").get(pk=key.pk)
    if actor is not None and not can_administer(actor, key.workspace):
        raise RoleRequired(f"Only a workspace admin can revoke API keys in {key.workspace.name}.")
    if key.revoked_at is not None:
        return key
    key.revoked_at, key.revoked_by = timezone.now(), actor
    key.save(update_fields=["revoked_at", "revoked_by"])
    events.key_revoked(key=key, actor=actor)
    return key


def _prefix_of(raw: str) -> str | None:
    """``imp_live_<10 letters or digits>_<secret>``: the part before the secret (which may hold "_")."""
    end = len(KEY_PREFIX) + _PREFIX_ID_CHARS
    if not raw.startswith(KEY_PREFIX) or len(raw) <= end + 1 or raw[end] != "_" or len(raw) > 200:
        return None
    prefix = raw[:end]
    return prefix if prefix[len(KEY_PREFIX) :].isalnum() else None


def _with_roles(keys):
    """Keys annotated with which roles their user holds in their workspace (one EXISTS per role, so the
    roles come with the key in the same query, on any database)."""
    member = Membership.objects.filter(user=OuterRef("user_id"), workspace=OuterRef("workspace_id"))
    return keys.annotate(**{f"_holds_{role}": Exists(member.filter(role=role)) for role in Role.values})


def apikey_authenticate(raw: str) -> ApiKey:
    """The active key ``raw`` names, with its user, its workspace and the user's roles there (remembered
    for ``user_roles``), or ``KeyRejected``. One query, plus a write of ``last_used_at`` at most once a
    minute. The messages never repeat the key."""
    prefix = _prefix_of(raw or "")
    key = (
        _with_roles(ApiKey.objects.select_related("user", "workspace")).filter(prefix=prefix).first()
        if prefix
        else None
    )
    if key is None or not hmac.compare_digest(key.key_hash, key_hash(raw)):
        raise KeyRejected("That API key is not valid. Check it was copied whole, or ask an admin for a new one.")
    if key.is_revoked:
        raise KeyRejected("This API key was revoked. Ask a workspace admin for a new one.", code="api_key_revoked")
    if key.is_expired:
        raise KeyRejected("This API key has expired. Ask a workspace admin for a new one.", code="api_key_expired")
    if not key.user.is_active:
        raise KeyRejected("The person this API key acts as can no longer sign in.", code="api_key_user_inactive")
    user_roles_remember(key.user, key.workspace, [role for role in Role.values if getattr(key, f"_holds_{role}")])
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def user_for_key_command(*, workspace: Workspace, username: str):
    """The command line's ``--user``: a member of the workspace, else ``InvalidInput``."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise InvalidInput(f"No user is called {username}.")
    return user
