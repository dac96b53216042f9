"""Reads: an image's combined verdict, the evidence behind it, and highlighted prompt text.

Images are named by id (and their job's id): the safety layer stores evidence about them but never
imports the studio. ``safety_panel_context`` takes any object with ``pk``, ``job_id``, ``workspace`` and
``safety_verdict`` (a studio ``Variant``) for the review and variant pages."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from studio.core.models import Workspace
from studio.safety.models import AssessmentStatus, SafetyAssessment, SafetyStage, SafetyVerdict
from studio.safety.policy import policy_for
from studio.safety.types import ScreenedImage, strictest

JOB_STAGES = (SafetyStage.PROMPT, SafetyStage.PROVIDER_PROMPT, SafetyStage.PROVIDER_UNKNOWN)


def assessments_for(*, variant_id: int, job_id: int | None) -> QuerySet[SafetyAssessment]:
    """Everything that looked at an image: its own image/output checks and its job's prompt checks."""
    return SafetyAssessment.objects.filter(
        Q(variant_id=variant_id) | Q(job_id=job_id, variant__isnull=True, stage__in=JOB_STAGES)
    ).order_by("created_at", "pk")


def _evidence_rows(*, variant_id: int, job_id: int | None) -> QuerySet[SafetyAssessment]:
    """An image's own rows and every row about its job's prompt (any stage)."""
    return SafetyAssessment.objects.filter(Q(variant_id=variant_id) | Q(job_id=job_id, variant__isnull=True))


def _severity_of(categories_lists: Iterable[Any]) -> int:
    severities = [
        int(category.get("severity") or 0)
        for categories in categories_lists
        for category in categories or []
        if isinstance(category, dict) and str(category.get("severity", "0")).isdigit()
    ]
    return min(max(severities, default=0), 7)


def highest_severity(*, variant_id: int, job_id: int | None) -> int:
    """The risk a reviewer filters by: the highest severity any screener gave the image or its prompt."""
    rows = _evidence_rows(variant_id=variant_id, job_id=job_id)
    return _severity_of(rows.values_list("categories", flat=True))


def latest_per_screener(assessments: Iterable[SafetyAssessment]) -> list[SafetyAssessment]:
    """The newest row per (stage, screener, subject): a later retry replaces an earlier "pending"."""
    latest: dict[tuple[str, str, int | None], SafetyAssessment] = {}
    for row in sorted(assessments, key=lambda a: (a.created_at, a.pk)):
        latest[(row.stage, row.screener, row.variant_id)] = row
    return list(latest.values())


def evidence_verdicts(assessments: Iterable[SafetyAssessment]) -> list[str]:
    """Verdicts that count: every completed answer (a later answer never erases an earlier finding),
    plus "pending" where a screener's newest attempt is still unanswered. Fail-open skips do not count."""
    groups: dict[tuple[str, str, int | None], list[SafetyAssessment]] = {}
    for row in sorted(assessments, key=lambda a: (a.created_at, a.pk)):
        groups.setdefault((row.stage, row.screener, row.variant_id), []).append(row)
    verdicts = []
    for rows in groups.values():
        verdicts += [row.verdict for row in rows if row.status == AssessmentStatus.COMPLETE]
        if rows[-1].status == AssessmentStatus.ERROR:
            verdicts.append(SafetyVerdict.PENDING)
    return verdicts


def _verdict_over(rows: list[SafetyAssessment], *, workspace: Workspace, image_verdict: str) -> str:
    verdicts = evidence_verdicts(rows)
    if not any(row.stage == SafetyStage.IMAGE for row in rows):
        verdicts.append(image_verdict)
    return policy_for(workspace).floor(strictest(verdicts))


def combined_verdict(*, workspace: Workspace, variant_id: int, job_id: int | None, image_verdict: str) -> str:
    """Combined verdict over an image's evidence, with the workspace's floor. Without any image-stage row
    yet, ``image_verdict`` (a screening being applied, or the image's stored verdict) stands in for the
    image check. Never weaker than the job's prompt check."""
    rows = list(assessments_for(variant_id=variant_id, job_id=job_id))
    return _verdict_over(rows, workspace=workspace, image_verdict=image_verdict)


def verdict_and_severity(
    *, workspace: Workspace, variant_id: int, job_id: int | None, image_verdict: str
) -> tuple[str, int]:
    """``combined_verdict`` and ``highest_severity`` from one read of the evidence (applying a screening
    needs both, once per generated image)."""
    rows = list(_evidence_rows(variant_id=variant_id, job_id=job_id).order_by("created_at", "pk"))
    verdict_rows = [row for row in rows if row.variant_id == variant_id or row.stage in JOB_STAGES]
    verdict = _verdict_over(verdict_rows, workspace=workspace, image_verdict=image_verdict)
    return verdict, _severity_of(row.categories for row in rows)


def highlight_matches(text: str, matches: Iterable[dict[str, Any]]) -> SafeString:
    """HTML-escape ``text`` and wrap each hit in ``<mark class="hit" title="advice">``. Overlapping or
    out-of-range spans are skipped rather than producing broken markup."""

    def valid(m: dict[str, Any]) -> bool:
        start, end = m.get("start"), m.get("end")
        return isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)

    spans = sorted((m for m in matches if valid(m)), key=lambda m: (m["start"], -m["end"]))
    out: list[str] = []
    cursor = 0
    for m in spans:
        if m["start"] < cursor:
            continue
        out.append(escape(text[cursor : m["start"]]))
        out.append(
            format_html(
                '<mark class="hit" title="{}">{}</mark>',
                m.get("advice") or m.get("rule") or "",
                text[m["start"] : m["end"]],
            )
        )
        cursor = m["end"]
    out.append(escape(text[cursor:]))
    return mark_safe("".join(str(part) for part in out))  # noqa: S308 - every part is escaped above


def safety_panel_context(
    *,
    variant: ScreenedImage | None = None,
    assessments: Iterable[SafetyAssessment] | None = None,
    verdict: str | None = None,
    text: str = "",
) -> dict[str, Any]:
    """Context for ``approvals/partials/safety_panel.html``: the evidence rows, the verdict, and the
    prompt with local and blocklist hits highlighted."""
    if assessments is None:
        if variant is None:
            raise ValueError("Give a variant or the assessments to show.")
        assessments = list(assessments_for(variant_id=variant.pk, job_id=variant.job_id))
    else:
        assessments = list(assessments)
    if verdict is None:
        if variant is not None:
            verdict = combined_verdict(
                workspace=variant.workspace,
                variant_id=variant.pk,
                job_id=variant.job_id,
                image_verdict=variant.safety_verdict,
            )
        else:
            verdict = strictest(evidence_verdicts(assessments))
    prompt_rows = [a for a in assessments if a.stage == SafetyStage.PROMPT]
    if not text and prompt_rows:
        text = prompt_rows[-1].screened_text
    latest_prompt = latest_per_screener(prompt_rows)
    matches = [m for row in latest_prompt for m in row.matches]
    return {
        "assessments": assessments,
        "verdict": verdict,
        "highlighted_prompt": highlight_matches(text, matches) if text else "",
    }
