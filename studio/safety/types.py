"""Typed results shared by every screener, the policy and the services.

They are plain frozen dataclasses (not models) because screening runs before anything is saved: the
generation pipeline screens a prompt, decides, and only then records the evidence
(``studio.safety.assessments``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from studio.safety.models import AssessmentStatus, SafetyVerdict, Screener

# Strictness, weakest first. ``pending`` sits between review and block: an unanswered check stops an
# item (stricter than review), but a definite block elsewhere is already final whatever the missing
# screener would have said, so block still wins over pending.
VERDICT_RANK: dict[str, int] = {
    SafetyVerdict.ALLOW: 0,
    SafetyVerdict.REVIEW: 1,
    SafetyVerdict.PENDING: 2,
    SafetyVerdict.BLOCK: 3,
}

ROUTE_WORDS: dict[str, str] = {
    SafetyVerdict.ALLOW: "Brand review only",
    SafetyVerdict.REVIEW: "Brand review, then compliance",
    SafetyVerdict.BLOCK: "Blocked",
    SafetyVerdict.PENDING: "Safety check pending",
}


def strictest(verdicts: Iterable[str], default: str = SafetyVerdict.ALLOW) -> str:
    """The strictest verdict of ``verdicts`` (``default`` when there are none)."""
    best = default
    for verdict in verdicts:
        if VERDICT_RANK[verdict] > VERDICT_RANK[best]:
            best = verdict
    return best


class ScreenerUnavailable(Exception):
    """A hosted screener did not give an answer (down, timed out, 401/429/5xx, malformed reply).

    ``retryable`` tells the retry task whether waiting can help (timeouts, 429, 5xx) or whether a
    person must fix configuration first (401/403/404); either way the screening fails closed."""

    def __init__(self, message: str, *, status_code: int | None = None, retryable: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.retryable = retryable


@dataclass(frozen=True)
class ScreenerResult:
    """What one screener said. ``categories`` items: ``{category, severity, verdict, assessed, raw}``;
    ``matches`` items: ``{term, rule, start, end, category, advice, verdict}``."""

    screener: str  # approvals.models.Screener value
    status: str  # approvals.models.AssessmentStatus value
    verdict: str  # studio.models.SafetyVerdict value
    categories: list[dict[str, Any]] = field(default_factory=list)
    matches: list[dict[str, Any]] = field(default_factory=list)
    decided_by: str = ""
    explanation: str = ""
    error: str = ""
    retryable: bool = False

    @property
    def counts(self) -> bool:
        """Whether this result takes part in the combined verdict (a fail-open skip does not)."""
        return self.status != AssessmentStatus.SKIPPED_FAIL_OPEN

    @property
    def screener_label(self) -> str:
        return Screener(self.screener).label

    def summary(self) -> dict[str, Any]:
        """Compact form for audit event data."""
        return {
            "screener": self.screener,
            "status": self.status,
            "verdict": self.verdict,
            "decided_by": self.decided_by,
            "error": self.error,
            "hits": len(self.matches),
        }


@dataclass(frozen=True)
class Screening:
    """The combined outcome of all screeners for one prompt or image."""

    verdict: str
    pending: bool
    results: list[ScreenerResult]
    decided_by: str
    message: str
    only_local: bool

    @property
    def route(self) -> str:
        return ROUTE_WORDS[self.verdict]

    @property
    def blocked(self) -> bool:
        return self.verdict == SafetyVerdict.BLOCK


class ScreenedImage(Protocol):
    """What the safety layer reads off an image it has evidence about (a studio ``Variant``), without
    importing the studio."""

    pk: Any
    job_id: int | None
    safety_verdict: str

    @property
    def workspace(self) -> Any: ...
