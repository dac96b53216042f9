"""Provider error text with secrets removed, before it is stored in a job, the audit chain or an export.

The keys to remove are the values of the variables the deployments name (any deployment's: a service
or proxy may echo another one's key); :func:`studio.lib.redaction.redact` also removes anything shaped
like a credential (``Bearer ...``, ``api-key: ...``, ``sk-...``).
"""

from __future__ import annotations

import os

from studio.generation.models import Deployment
from studio.lib.providers import ProviderError
from studio.lib.redaction import redact


def configured_secrets() -> list[str]:
    """The values of every environment variable a deployment names (those set on this machine)."""
    names = Deployment.objects.exclude(secret_env="").values_list("secret_env", flat=True).distinct()
    return [value for name in names if (value := os.environ.get(name, ""))]


def text_redact(text: str) -> str:
    """``text`` safe to store: no configured key, nothing credential-shaped."""
    return redact(text, secrets=configured_secrets()) if text else text


def error_redact(error: ProviderError) -> ProviderError:
    """Redact ``error``'s message and code in place (the code comes from the provider's body too) and return
    it, so the job, its audit event and the task's retry reason all see the same safe text."""
    secrets = configured_secrets()
    error.user_message = redact(error.user_message, secrets=secrets)
    error.code = redact(error.code, secrets=secrets)
    return error
