"""The studio's refusals: what a marketer reads when a draft, launch or edit cannot go ahead."""

from __future__ import annotations

from studio.core.errors import Refusal


class StudioError(Refusal):
    """A refusal with a message a marketer can act on, and per-field messages for the form."""

    code = "studio_refused"
    status = 422

    def __init__(self, message: str, *, field_errors: dict[str, str] | None = None, code: str | None = None) -> None:
        super().__init__(message, code=code, field_errors=field_errors)


class BudgetExceeded(StudioError):
    code = "budget_exceeded"
    status = 409


class JobRetry(Exception):  # noqa: N818 - a control-flow signal, not an error for users
    """Raised by ``job_execute`` when the call should be tried again after ``countdown`` seconds."""

    def __init__(self, countdown: float, reason: str) -> None:
        super().__init__(reason)
        self.countdown = countdown
        self.reason = reason
