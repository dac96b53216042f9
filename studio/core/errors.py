"""One base class for every refusal a person should read.

A service that refuses raises a ``Refusal`` (or a subclass) with a plain-language message and a stable
code; it never formats HTML or picks a status code. Views catch ``Refusal`` once and show ``message``
where it belongs (a form error, an htmx message, an API problem document). Permission refusals are both a
``Refusal`` and Django's ``PermissionDenied``, so anything that does not catch them still answers 403.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied


class Refusal(Exception):  # noqa: N818 - it names what the user gets, a refusal, not a crash
    """An action was refused for a reason the person can act on."""

    code = "refused"
    default_message = "That could not be done; nothing was changed."
    status = 409  # a hint for views and the API: 409 conflict/state, 422 bad input, 403 forbidden
    # True once the attempt was written to the audit log (``refusal_mark_recorded``): the refused attempt
    # changed something, so the API keeps its answer for a repeat with the same Idempotency-Key.
    recorded = False

    def __init__(
        self, message: str | None = None, *, code: str | None = None, field_errors: dict[str, str] | None = None
    ) -> None:
        self.message = message or self.default_message
        if code:
            self.code = code
        self.field_errors = field_errors or {}
        super().__init__(self.message)


class InvalidInput(Refusal):
    code = "invalid_input"
    status = 422


class Forbidden(Refusal, PermissionDenied):
    """Refused because of who is asking (role, separation of duties). Answers 403."""

    code = "forbidden"
    default_message = "You are not allowed to do that."
    status = 403


def refusal_mark_recorded(exc: BaseException) -> None:
    """Note that the refused attempt behind ``exc`` (a ``Refusal`` or Django's ``PermissionDenied``) was
    recorded in the audit log, as rule refusals of decisions and publishes are."""
    exc.recorded = True  # type: ignore[attr-defined]


def refusal_message(exc: BaseException) -> str:
    """Plain words for any exception a view may show: the refusal's own message, else a safe default."""
    if isinstance(exc, Refusal):
        return exc.message
    if isinstance(exc, PermissionDenied):
        return str(exc) or Forbidden.default_message
    return "Something went wrong; nothing was changed."
