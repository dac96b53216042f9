"""Secrets out of text before it is stored.

A provider's error text (or an exception's) is kept in the job, the audit chain and every export; the
chain is append-only, so a key that reaches it can never be removed. Everything recorded from a provider
passes through :func:`redact` first. Pure: the caller passes the secrets it knows (the values of the
variables its deployments name); the patterns catch what is shaped like a credential anyway.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "[redacted]"

#: Shorter configured values are not replaced verbatim: they would match ordinary words.
MIN_SECRET_LENGTH = 8

_CREDENTIAL_CHARS = r"[A-Za-z0-9._~+/=-]{8,}"
PATTERNS: tuple[re.Pattern[str], ...] = (
    # Authorization: Bearer <token> (OpenAI keys, Entra tokens)
    re.compile(rf"(?i)(\bbearer\s+){_CREDENTIAL_CHARS}"),
    # api-key: <key>, "api_key": "<key>", apikey=<key>, Ocp-Apim-Subscription-Key: <key>
    re.compile(rf"(?i)((?:api[-_ ]?key|subscription[-_]key)[\"']?\s*[:=]\s*[\"']?){_CREDENTIAL_CHARS}"),
    # sk-..., sk-proj-..., sk-svcacct-... style keys, wherever they appear
    re.compile(r"()\bsk-[A-Za-z0-9_-]{8,}"),
)


def redact(text: str, *, secrets: Iterable[str] = ()) -> str:
    """``text`` with each of ``secrets`` (long enough to be one) and anything credential-shaped replaced by
    ``[redacted]``. Longest secrets first, so one that contains another is removed whole."""
    if not text:
        return text
    for secret in sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    for pattern in PATTERNS:
        text = pattern.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    return text
