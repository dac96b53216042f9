"""Standard Webhooks signing (https://www.standardwebhooks.com/): ``webhook-id``, ``webhook-timestamp``
and ``webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` with the endpoint's
``whsec_<base64 key>`` secret.

Secrets are stored as Fernet tokens keyed from ``SECRET_KEY`` (a database dump alone does not reveal
them); rotating ``SECRET_KEY`` therefore means rotating the endpoints' secrets too. A secret is never
logged or written to the audit chain.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

PREFIX = "whsec_"


def secret_generate() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def secret_hint(secret: str) -> str:
    return secret[: len(PREFIX) + 4] + "…"


def _fernet() -> Fernet:
    key = hashlib.sha256(b"imprimatur.webhooks.secret:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def secret_encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


class SecretUnreadable(Exception):
    """The stored secret does not decrypt (``SECRET_KEY`` changed): rotate the endpoint's secret."""


def secret_decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable("The signing secret cannot be read; rotate it.") from exc


def signature(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret=secret, msg_id=msg_id, timestamp=timestamp, body=body),
        "content-type": "application/json",
        "user-agent": "Imprimatur-Webhooks/1",
    }
