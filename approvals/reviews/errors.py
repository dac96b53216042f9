"""Refusals of the approval workflow. Each is a ``studio.core.errors.Refusal`` with a stable ``code`` and
a message a person can act on; views catch ``Refusal`` once and show ``message``.

``status`` is the view's hint: 409 when the state moved under the person (someone decided first, the
image changed), 422 for everything they can fix in what they sent.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from studio.core.errors import Refusal

__all__ = [
    "AlreadyDecided",
    "AlreadyInReview",
    "InvalidComment",
    "InvalidDecision",
    "REFUSED",
    "NotSubmittable",
    "StageNotReady",
    "StaleReview",
    "WorkflowError",
    "refusal_code",
    "refusal_status",
]


class WorkflowError(Refusal):
    """A refused transition of a review. ``message`` is shown to the person as is."""

    code = "workflow_error"
    status = 422


class NotSubmittable(WorkflowError):
    code = "not_submittable"


class AlreadyInReview(WorkflowError):
    code = "already_in_review"


class StaleReview(WorkflowError):
    code = "stale_review"
    status = 409


class AlreadyDecided(WorkflowError):
    code = "already_decided"
    status = 409


class StageNotReady(WorkflowError):
    code = "stage_not_ready"


class InvalidDecision(WorkflowError):
    code = "invalid_decision"


class InvalidComment(WorkflowError):
    code = "invalid_comment"


# What views and tasks catch: every refusal a person should read. The role errors of studio.core.permissions
# are ``Forbidden`` refusals already; Django's own ``PermissionDenied`` (raised by code outside this project,
# e.g. a decorator) is caught too so it reads as a sentence. Show them with ``refusal_message``.
REFUSED = (Refusal, PermissionDenied)


def refusal_status(exc: Exception) -> int:
    """The status a refusal answers with: its own hint (409 / 422 / 403), 403 for a bare permission error."""
    return exc.status if isinstance(exc, Refusal) else 403


def refusal_code(exc: Exception) -> str:
    """A refusal's stable code; for a bare permission error, its class name in snake case."""
    code = getattr(exc, "code", None)
    if isinstance(code, str) and code:
        return code
    name = type(exc).__name__
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))
