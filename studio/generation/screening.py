"""What a safety screening does to a job or an image: record the evidence with an audit event, and move
the image out of "safety check pending" once its verdict is final.

The screening itself (screeners, policy, combining) and the evidence rows are the safety layer's
(``studio.safety``); it knows no job and no image, so everything that reads or changes a job or a variant
because of a verdict lives here, one layer up. Image status changes go through ``lifecycle``.
"""

from __future__ import annotations

from typing import Any

import httpx2
from django.db import transaction

from studio.core.models import Workspace
from studio.generation.lifecycle import variant_transition
from studio.generation.models import GenerationJob, Variant, VariantStatus
from studio.safety import events as safety_events
from studio.safety.assessments import assessments_store, provider_assessment_store, provider_filters_judge
from studio.safety.models import SafetyAssessment, SafetyStage, SafetyVerdict
from studio.safety.selectors import combined_verdict, highest_severity
from studio.safety.services import screen_image
from studio.safety.types import Screening, strictest


def _subject(job: GenerationJob | None, variant: Variant | None) -> GenerationJob | Variant:
    if variant is None and job is None:
        raise ValueError("A safety record needs a job or a variant.")
    return variant if variant is not None else job


@transaction.atomic
def screening_record(
    *,
    screening: Screening,
    stage: str,
    workspace: Workspace,
    job: GenerationJob | None = None,
    variant: Variant | None = None,
    text: str = "",
) -> list[SafetyAssessment]:
    """One assessment per screener result and one audit event about the job or the image, in one
    transaction."""
    subject = _subject(job, variant)
    if variant is not None and job is None:
        job = variant.job
    job_id = job.pk if job is not None else None
    variant_id = variant.pk if variant is not None else None
    rows = assessments_store(
        screening=screening, stage=stage, workspace=workspace, job_id=job_id, variant_id=variant_id, text=text
    )
    safety_events.screened(
        workspace=workspace,
        subject=subject,
        screening=screening,
        stage=stage,
        job_id=job_id,
        variant_id=variant_id,
        assessment_ids=[r.pk for r in rows],
    )
    return rows


@transaction.atomic
def provider_filters_record(
    *,
    workspace: Workspace,
    job: GenerationJob | None = None,
    variant: Variant | None = None,
    stage: str,
    filter_results: Any,
    blocked: bool = False,
    categories: list[str] | None = None,
) -> SafetyAssessment:
    """The image provider's own filter as evidence, with an audit event. ``blocked`` + ``categories``
    record a provider safety refusal."""
    subject = _subject(job, variant)
    if variant is not None and job is None:
        job = variant.job
    judgement = provider_filters_judge(
        workspace=workspace, filter_results=filter_results, blocked=blocked, categories=categories
    )
    row = provider_assessment_store(
        workspace=workspace,
        job_id=job.pk if job is not None else None,
        variant_id=variant.pk if variant is not None else None,
        stage=stage,
        judgement=judgement,
    )
    safety_events.provider_filtered(
        workspace=workspace,
        subject=subject,
        assessment_id=row.pk,
        stage=stage,
        verdict=judgement.verdict,
        decided_by=judgement.decided_by,
        blocked=blocked,
        categories=categories,
    )
    return row


def variant_verdict_with(*, variant: Variant, image_verdict: str | None = None) -> str:
    """Combined verdict over the evidence. Without any image-stage row yet, ``image_verdict`` (a
    screening being applied) or else the variant's stored verdict stands in for the image check."""
    return combined_verdict(
        workspace=variant.workspace,
        variant_id=variant.pk,
        job_id=variant.job_id,
        image_verdict=image_verdict or variant.safety_verdict,
    )


def variant_verdict(*, variant: Variant) -> str:
    """The verdict the review workflow routes on: strictest of every screener that looked at the
    variant and at its job's prompt (never weaker than the prompt), with the workspace's floor."""
    return variant_verdict_with(variant=variant)


@transaction.atomic
def variant_apply_screening(*, variant: Variant, screening: Screening) -> Variant:
    """Move a variant out of "safety check pending" once its combined verdict is final: blocked, or
    ready to submit. The verdict covers every recorded assessment of the variant and its job's prompt, so
    a variant is never weaker than its prompt. Pending leaves it as it is; a blocked variant is never
    unblocked here (that takes a compliance override in the review workflow)."""
    locked = Variant.objects.select_for_update(of=("self",)).select_related("job", "workspace").get(pk=variant.pk)
    if locked.status not in (VariantStatus.SAFETY_PENDING, VariantStatus.READY):
        return locked
    verdict = strictest([screening.verdict, variant_verdict_with(variant=locked, image_verdict=screening.verdict)])
    if verdict == SafetyVerdict.PENDING:
        return locked
    previous = (locked.status, locked.safety_verdict, locked.safety_severity)
    status = VariantStatus.BLOCKED if verdict == SafetyVerdict.BLOCK else VariantStatus.READY
    severity = highest_severity(variant_id=locked.pk, job_id=locked.job_id)
    if (status, verdict, severity) == previous:
        return locked
    locked.safety_verdict, locked.safety_severity = verdict, severity
    locked.full_clean(exclude=["image", "thumbnail"])
    locked.save(update_fields=["safety_verdict", "safety_severity"])

    def record(changed: Variant) -> None:
        safety_events.verdict(
            variant=changed,
            verdict=verdict,
            previous_status=previous[0],
            previous_verdict=previous[1],
            screening=screening,
        )

    if status != previous[0]:
        variant_transition(actor=None, variant=locked, to=status, event=record)
    else:
        record(locked)
    variant.status, variant.safety_verdict = locked.status, locked.safety_verdict
    variant.safety_severity = locked.safety_severity
    return locked


def variant_rescreen(*, variant_id: int, http_client: httpx2.Client | None = None) -> Screening | None:
    """Screen a pending variant's image again, record it, and apply the verdict when final. Returns
    ``None`` when the variant no longer waits for a safety check (idempotent for redelivered tasks)."""
    variant = Variant.objects.select_related("workspace", "job").get(pk=variant_id)
    if variant.status != VariantStatus.SAFETY_PENDING:
        return None
    with variant.image.open("rb") as fh:
        data = fh.read()
    screening = screen_image(workspace=variant.workspace, image=data, http_client=http_client)
    with transaction.atomic():
        locked = Variant.objects.select_for_update(of=("self",)).get(pk=variant_id)
        if locked.status != VariantStatus.SAFETY_PENDING:
            return None
        screening_record(screening=screening, stage=SafetyStage.IMAGE, workspace=variant.workspace, variant=locked)
        if not screening.pending:
            variant_apply_screening(variant=locked, screening=screening)
    return screening


@transaction.atomic
def variant_safety_gave_up(*, variant: Variant, attempts: int) -> None:
    """Record that automatic retries stopped: the variant stays pending (fail closed) and the record
    says so, so nobody mistakes silence for a pass."""
    safety_events.retries_exhausted(variant=variant, attempts=attempts)
