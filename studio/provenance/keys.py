"""Where a signing key may come from: an environment variable the operator set aside for keys.

The same rule as ``studio.generation.models.deployments.secret_env_problem`` (this app sits below
generation, so the few lines are repeated rather than imported): a variable named with the
``IMPRIMATUR_SECRET_ENV_PREFIX`` prefix (``IMPRIMATUR_KEY_`` by default) or listed in
``IMPRIMATUR_SECRET_ENV_ALLOWLIST``. Any other name could read a secret that is not a signing key."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.validators import RegexValidator

ENV_VAR_VALIDATOR = RegexValidator(
    r"^[A-Z_][A-Z0-9_]*$", "Give the name of an environment variable (e.g. IMPRIMATUR_KEY_C2PA), not a key."
)


def key_env_problem(name: str) -> str | None:
    """Why ``name`` may not hold the signing key, or None."""
    prefix = getattr(settings, "IMPRIMATUR_SECRET_ENV_PREFIX", "IMPRIMATUR_KEY_")
    allowed = set(getattr(settings, "IMPRIMATUR_SECRET_ENV_ALLOWLIST", ()))
    if not name:
        return "Name the environment variable that holds the private key."
    if name in allowed or (prefix and name.startswith(prefix) and len(name) > len(prefix)):
        return None
    if name == "DJANGO_SECRET_KEY":
        return "DJANGO_SECRET_KEY is the site's own secret and can never be a signing key."
    return (
        f"{name} is not a variable set aside for keys: use a name starting with {prefix} "
        "(or ask the operator to add it to IMPRIMATUR_SECRET_ENV_ALLOWLIST)."
    )


def key_from_env(name: str) -> str | None:
    """The PEM key in ``name`` (None when the rule refuses the name or the variable is unset or empty)."""
    if key_env_problem(name):
        return None
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    # Some process managers cannot hold newlines: accept "\n" escapes.
    return value.replace("\\n", "\n") + "\n"
