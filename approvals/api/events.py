"""The API's audit vocabulary: a key made and a key revoked. The data names the key by its public
prefix only; the secret never reaches the chain (nor any log)."""

from __future__ import annotations

from typing import Any

from studio.core.audit import audit_record
from studio.core.events import event_group, event_type
from studio.core.models import AuditEvent
from studio.core.subjects import Values, quoted, subject_kind_register


def _key_words(values: Values, pk: str) -> str:
    if not values.get("name"):
        return ""
    prefix = f" ({values['prefix']}…)" if values.get("prefix") else ""
    return f"the API key {quoted(values['name'])}{prefix}"


API_KEY = subject_kind_register(
    "api.apikey",
    title="API key",
    noun="API key",
    model="api.ApiKey",
    fields={"name": "name", "prefix": "prefix"},
    label=_key_words,
    link=lambda v, pk, slug: ("api_keys:list", [slug]),
)

event_group("api.key", "API keys")

KEY_CREATED = event_type(
    "api.key.created",
    label="API key created",
    message="{actor} created the API key “{name}” ({prefix}…) acting as {user}, scopes {scopes}",
    subject_kind=API_KEY,
)
KEY_REVOKED = event_type(
    "api.key.revoked",
    label="API key revoked",
    message="{actor} revoked the API key “{name}” ({prefix}…) of {user}",
    subject_kind=API_KEY,
)


def _data(key: Any) -> dict[str, Any]:
    return {
        "name": key.name,
        "prefix": key.prefix,
        "user": key.user.get_username(),
        "scopes": list(key.scopes),
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
    }


def key_created(*, key: Any, actor: Any) -> AuditEvent:
    return audit_record(KEY_CREATED, workspace=key.workspace, actor=actor, subject=key, data=_data(key))


def key_revoked(*, key: Any, actor: Any) -> AuditEvent:
    return audit_record(KEY_REVOKED, workspace=key.workspace, actor=actor, subject=key, data=_data(key))
