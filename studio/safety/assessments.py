"""Evidence storage: what each screener (and the image service's own filter) said, as ``SafetyAssessment``
rows.

The safety layer stores evidence by plain ids (the job, and the variant when the image was screened);
it never looks at jobs or images themselves. The studio's ``studio.generation.screening`` calls these,
writes the audit event for the subject, and moves the image's status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from studio.core.models import Workspace
from studio.safety.models import AssessmentStatus, SafetyAssessment, SafetyVerdict, Screener
from studio.safety.policy import PROVIDER_SEVERITY, category_canonical, category_words, policy_for
from studio.safety.results import judge, measured
from studio.safety.types import Screening, strictest

# ``full_clean`` checks fields in Python (choices, lengths) but, left to itself, also asks the database
# whether the workspace, job and variant exist and whether each CheckConstraint holds: seven queries and
# four savepoints per row, and every generated image writes at least two rows (its prompt, its pixels).
# The ids come from rows the caller has just read or locked, and the database enforces the same foreign
# keys and constraints on the INSERT, so those checks only cost round trips.
_BY_ID = ("workspace", "job", "variant")


def _clean(row: SafetyAssessment) -> None:
    row.full_clean(exclude=_BY_ID, validate_unique=False, validate_constraints=False)


@transaction.atomic(savepoint=False)  # part of the caller's record: it fails or commits whole
def assessments_store(
    *,
    screening: Screening,
    stage: str,
    workspace: Workspace,
    job_id: int | None,
    variant_id: int | None = None,
    text: str = "",
) -> list[SafetyAssessment]:
    """One assessment per screener result. ``attempts`` counts earlier rows for the same subject, stage
    and screener, so retries are visible."""
    rows = []
    for result in screening.results:
        earlier = SafetyAssessment.objects.filter(
            stage=stage, screener=result.screener, job_id=job_id, variant_id=variant_id
        )
        row = _row(result, workspace=workspace, job_id=job_id, variant_id=variant_id, stage=stage, text=text)
        row.attempts = earlier.count() + 1
        _clean(row)
        row.save()
        rows.append(row)
    return rows


def _row(result, *, workspace: Workspace, job_id: int | None, variant_id: int | None, stage: str, text: str):
    """The unsaved assessment of one screener's result (a first attempt)."""
    return SafetyAssessment(
        workspace=workspace,
        job_id=job_id,
        variant_id=variant_id,
        stage=stage,
        screener=result.screener,
        status=result.status,
        verdict=result.verdict,
        categories=result.categories,
        matches=result.matches,
        decided_by=result.decided_by[:200],
        explanation=result.explanation,
        screened_text=text,
        error=result.error,
        attempts=1,
    )


@transaction.atomic(savepoint=False)  # part of the caller's transaction, like ``assessments_store``
def assessments_store_many(
    *, screening: Screening, stage: str, workspace: Workspace, job_ids: list[int], text: str = ""
) -> dict[int, list[SafetyAssessment]]:
    """One screening of a text shared by new jobs (a run's cells with the same prompt): each job gets the
    rows ``assessments_store`` would give it, in one ``INSERT``. The jobs are new, so each row is the
    first attempt of its screener; the rows are validated once, since they differ only by job."""
    templates = []
    for result in screening.results:
        row = _row(result, workspace=workspace, job_id=job_ids[0] if job_ids else None, variant_id=None,
                   stage=stage, text=text)  # fmt: skip
        _clean(row)
        templates.append(row)
    rows = [SafetyAssessment(**{**_values(template), "job_id": job_id}) for job_id in job_ids for template in templates]
    SafetyAssessment.objects.bulk_create(rows)
    by_job: dict[int, list[SafetyAssessment]] = {job_id: [] for job_id in job_ids}
    for row in rows:
        by_job[row.job_id].append(row)
    return by_job


def _values(row: SafetyAssessment) -> dict[str, Any]:
    return {f.attname: getattr(row, f.attname) for f in SafetyAssessment._meta.concrete_fields if not f.primary_key}


@dataclass(frozen=True)
class ProviderJudgement:
    """The image service's own filter read through the workspace policy."""

    verdict: str
    categories: list[dict[str, Any]]
    decided_by: str
    explanation: str


def _provider_results(filter_results: Any) -> dict[str, Any]:
    """Azure sends ``content_filter_results`` per image and ``prompt_filter_results`` either as a dict or
    as ``[{"prompt_index": 0, "content_filter_results": {...}}]``: reduce all to one dict."""
    if isinstance(filter_results, list):
        merged: dict[str, Any] = {}
        for item in filter_results:
            merged.update(_provider_results(item))
        return merged
    if not isinstance(filter_results, dict):
        return {}
    if isinstance(filter_results.get("content_filter_results"), dict):
        return filter_results["content_filter_results"]
    return filter_results


def provider_filters_judge(
    *, workspace: Workspace, filter_results: Any, blocked: bool = False, categories: list[str] | None = None
) -> ProviderJudgement:
    """A filtered category blocks; otherwise its severity goes through the workspace policy. ``blocked``
    + ``categories`` describe a provider safety refusal (no images came back). Reads only."""
    policy = policy_for(workspace)
    measured_categories = []
    forced: list[dict[str, Any]] = []
    for raw, value in sorted(_provider_results(filter_results).items()):
        if not isinstance(value, dict):
            continue
        filtered = bool(value.get("filtered"))
        if "severity" in value:
            severity = PROVIDER_SEVERITY.get(str(value.get("severity")), 6)
        elif "detected" in value:
            severity = 6 if value.get("detected") else 0
        else:  # custom_blocklists and the like: only "filtered" (and details)
            severity = 6 if filtered else 0
        item = measured(category_canonical(raw), severity, raw=raw, filtered=filtered)
        measured_categories.append(item)
        if filtered:
            forced.append(item)
    for raw in categories or []:
        item = measured(category_canonical(raw), 6, raw=raw, filtered=True)
        measured_categories.append(item)
        forced.append(item)
    result = judge(screener=Screener.PROVIDER, policy=policy, categories=measured_categories)
    judged = [{**c, "verdict": SafetyVerdict.BLOCK} if c.get("filtered") else c for c in result.categories]
    verdict = strictest([result.verdict] + [c["verdict"] for c in judged])
    decided_by, explanation = result.decided_by, result.explanation
    if forced:
        names = ", ".join(sorted({c["raw"] for c in forced}))
        decided_by = f"provider: filtered {names}"
        explanation = f"The image service's own safety filter stopped this ({category_words(forced[0]['raw'])})."
    elif blocked:
        verdict = SafetyVerdict.BLOCK
        decided_by = "provider: safety refusal"
        explanation = "The image service's safety system refused this request."
    return ProviderJudgement(verdict=verdict, categories=judged, decided_by=decided_by, explanation=explanation)


@transaction.atomic(savepoint=False)
def provider_assessment_store(
    *,
    workspace: Workspace,
    job_id: int | None,
    variant_id: int | None = None,
    stage: str,
    judgement: ProviderJudgement,
) -> SafetyAssessment:
    """The provider's judgement as one evidence row."""
    row = SafetyAssessment(
        workspace=workspace,
        job_id=job_id,
        variant_id=variant_id,
        stage=stage,
        screener=Screener.PROVIDER,
        status=AssessmentStatus.COMPLETE,
        verdict=judgement.verdict,
        categories=judgement.categories,
        decided_by=judgement.decided_by[:200],
        explanation=judgement.explanation,
        attempts=1,
    )
    _clean(row)
    row.save()
    return row
