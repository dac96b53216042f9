"""Turn what a screener measured (categories with severities, term hits) into a ``ScreenerResult``
with a verdict, and say which category or term decided it."""

from __future__ import annotations

from typing import Any

from studio.safety.models import AssessmentStatus, SafetyVerdict, Screener
from studio.safety.policy import SafetyPolicy, category_words
from studio.safety.types import VERDICT_RANK, ScreenerResult, ScreenerUnavailable, strictest


def measured(
    category: str, severity: int | None, *, raw: str = "", assessed: bool = True, **extra: Any
) -> dict[str, Any]:
    return {
        "category": category,
        "severity": severity if assessed else None,
        "assessed": assessed,
        "raw": raw or category,
        **extra,
    }


def judge(
    *,
    screener: str,
    policy: SafetyPolicy,
    categories: list[dict[str, Any]],
    matches: list[dict[str, Any]] | None = None,
    note: str = "",
) -> ScreenerResult:
    """Apply the policy to each category; the strictest category or hit decides."""
    judged = []
    for item in categories:
        verdict = policy.verdict_for(item["category"], item["severity"]) if item["assessed"] else SafetyVerdict.ALLOW
        judged.append({**item, "verdict": verdict})
    matches = list(matches or [])
    verdict = strictest([c["verdict"] for c in judged] + [m["verdict"] for m in matches])
    decided_by = ""
    explanation = note
    if verdict != SafetyVerdict.ALLOW:
        hit = next((m for m in matches if m["verdict"] == verdict), None)
        top = max(
            (c for c in judged if c["verdict"] == verdict),
            key=lambda c: (VERDICT_RANK[c["verdict"]], c["severity"] or 0),
            default=None,
        )
        if top is not None:
            decided_by = f"{screener}: {top['raw']} severity {top['severity']}"
            explanation = f"{category_words(top['category']).capitalize()} at severity {top['severity']}. {note}"
        elif hit is not None:
            decided_by = f"{screener}: {hit['rule']}"
            explanation = f'Matched "{hit["term"]}" ({hit["rule"]}). {note}'
    elif not explanation:
        explanation = "Nothing above the policy's thresholds."
    return ScreenerResult(
        screener=screener,
        status=AssessmentStatus.COMPLETE,
        verdict=verdict,
        categories=judged,
        matches=matches,
        decided_by=decided_by,
        explanation=explanation.strip(),
    )


def unavailable(*, screener: str, error: ScreenerUnavailable, fail_open: bool) -> ScreenerResult:
    """A screener that gave no answer. Fail closed: pending. Fail open: recorded as skipped, never
    silently dropped, and left out of the combined verdict."""
    label = Screener(screener).label
    if fail_open:
        return ScreenerResult(
            screener=screener,
            status=AssessmentStatus.SKIPPED_FAIL_OPEN,
            verdict=SafetyVerdict.PENDING,
            decided_by="",
            error=error.message,
            retryable=error.retryable,
            explanation=f"{label} was unavailable and this workspace lets items through when a screener is "
            "down, so it was skipped; the other screeners decided.",
        )
    return ScreenerResult(
        screener=screener,
        status=AssessmentStatus.ERROR,
        verdict=SafetyVerdict.PENDING,
        decided_by=f"{screener}: unavailable",
        error=error.message,
        retryable=error.retryable,
        explanation=f"{label} was unavailable, so the safety check is pending and will be retried.",
    )
