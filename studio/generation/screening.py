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

from studio.core.audit import audit_batch
from studio.core.models import Workspace
from studio.generation.lifecycle import variant_transition
from studio.generation.models import GenerationJob, Variant, VariantStatus
from studio.safety import events as safety_events
from studio.safety.assessments import (
    assessments_store,
    assessments_store_many,
    provider_assessment_store,
    provider_filters_judge,
)
from studio.safety.models import SafetyAssessment, SafetyStage, SafetyVerdict
from studio.safety.selectors import combined_verdict, verdict_and_severity
from studio.safety.services import screen_image
from studio.safety.types import Screening, strictest


def _subject(job: GenerationJob | None, variant: Variant | None) -> GenerationJob | Variant:
    if variant is None and job is None:
        raise ValueError("A safety record needs a job or a variant.")
    return variant if variant is not None else job


@transaction.atomic(savepoint=False)  # part of the caller's record: evidence and event commit or fail whole
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


@transaction.atomic(savepoint=False)  # part of the caller's transaction, which made the jobs
def prompt_screenings_record(
    *, workspace: Workspace, jobs: list[GenerationJob], screenings: dict[str, Screening]
) -> None:
    """Record, for new jobs, the screening of their prompt made before their transaction (a production
    run's preparation screens each distinct prompt once): each job's assessments and its audit event, as
    ``screening_record`` writes them. Only final screenings that let the job run are recorded; the others'
    jobs (pending, blocked, or a prompt not screened) are left for ``job_screen_prompt`` when they run,
    which retries or settles and blocks them on the usual path."""
    by_text: dict[str, list[GenerationJob]] = {}
    for job in jobs:
        screening = screenings.get(job.prompt)
        if screening is not None and not screening.pending and screening.verdict != SafetyVerdict.BLOCK:
            by_text.setdefault(job.prompt, []).append(job)
    for text, group in by_text.items():
        screening = screenings[text]
        rows = assessments_store_many(
            screening=screening, stage=SafetyStage.PROMPT, workspace=workspace, job_ids=[j.pk for j in group], text=text
        )
        for job in group:
            safety_events.screened(
                workspace=workspace,
                subject=job,
                screening=screening,
                stage=SafetyStage.PROMPT,
                job_id=job.pk,
                variant_id=None,
                assessment_ids=[r.pk for r in rows[job.pk]],
            )


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


_VERDICT_FIELDS = ("safety_verdict", "safety_severity")


@transaction.atomic
def variant_apply_screening(*, variant: Variant, screening: Screening, locked: bool = False) -> Variant:
    """Move a variant out of "safety check pending" once its combined verdict is final: blocked, or
    ready to submit. The verdict covers every recorded assessment of the variant and its job's prompt, so
    a variant is never weaker than its prompt. Pending leaves it as it is; a blocked variant is never
    unblocked here (that takes a compliance override in the review workflow).

    ``locked``: the caller locked ``variant`` in this transaction (its status is fresh), so it is not
    locked and read again. The verdict, the severity and the status are written in one ``UPDATE``."""
    if locked:
        row = variant
    else:
        row = (
            Variant.objects.select_for_update(of=("self",), no_key=True)
            .select_related("job", "workspace")
            .get(pk=variant.pk)
        )
    if row.status not in (VariantStatus.SAFETY_PENDING, VariantStatus.READY):
        return row
    combined, severity = verdict_and_severity(
        workspace=row.workspace, variant_id=row.pk, job_id=row.job_id, image_verdict=screening.verdict
    )
    verdict = strictest([screening.verdict, combined])
    if verdict == SafetyVerdict.PENDING:
        return row
    previous = (row.status, row.safety_verdict, row.safety_severity)
    status = VariantStatus.BLOCKED if verdict == SafetyVerdict.BLOCK else VariantStatus.READY
    if (status, verdict, severity) == previous:
        return row
    row.safety_verdict, row.safety_severity = verdict, severity
    # Only the two fields this writes are validated: the rest of the row is as it was read, and asking the
    # database again whether its workspace, job, draft and creator exist cost a query each, per image.
    row.clean_fields(exclude=[f.name for f in Variant._meta.fields if f.name not in _VERDICT_FIELDS])

    def record(changed: Variant) -> None:
        safety_events.verdict(
            variant=changed,
            verdict=verdict,
            previous_status=previous[0],
            previous_verdict=previous[1],
            screening=screening,
        )

    if status != previous[0]:
        variant_transition(
            actor=None, variant=row, to=status, event=record, locked_status=previous[0], also_save=_VERDICT_FIELDS
        )
    else:
        row.save(update_fields=list(_VERDICT_FIELDS))
        record(row)
    if row is not variant:
        variant.status, variant.safety_verdict = row.status, row.safety_verdict
        variant.safety_severity = row.safety_severity
    return row


def variant_screen_with_image(*, variant: Variant) -> Screening:
    """The image check of a new variant in a workspace without a hosted image screener
    (``screens_image_pixels`` is false): recorded in the transaction that creates the image, which holds
    its row, so the image is ready (or blocked, by its prompt's evidence) as soon as it exists."""
    screening = screen_image(workspace=variant.workspace, image=b"")  # no screener reads the bytes
    screening_record(
        screening=screening, stage=SafetyStage.IMAGE, workspace=variant.workspace, job=variant.job, variant=variant
    )
    if not screening.pending:
        variant_apply_screening(variant=variant, screening=screening, locked=True)
    return screening


def variant_rescreen(*, variant_id: int, http_client: httpx2.Client | None = None) -> Screening | None:
    """Screen a pending variant's image again, record it, and apply the verdict when final. Returns
    ``None`` when the variant no longer waits for a safety check (idempotent for redelivered tasks)."""
    variant = Variant.objects.select_related("workspace", "job").get(pk=variant_id)
    if variant.status != VariantStatus.SAFETY_PENDING:
        return None
    with variant.image.open("rb") as fh:
        data = fh.read()
    screening = screen_image(workspace=variant.workspace, image=data, http_client=http_client)
    with transaction.atomic(), audit_batch(variant.workspace):  # the evidence and the verdict: one chain write
        locked = Variant.objects.select_for_update(of=("self",), no_key=True).get(pk=variant_id)
        if locked.status != VariantStatus.SAFETY_PENDING:
            return None
        # The workspace and job rows read above (neither changes what this writes): not read again.
        locked.workspace, locked.job = variant.workspace, variant.job
        screening_record(
            screening=screening, stage=SafetyStage.IMAGE, workspace=variant.workspace, job=variant.job, variant=locked
        )
        if not screening.pending:
            variant_apply_screening(variant=locked, screening=screening, locked=True)
    return screening


@transaction.atomic
def variant_safety_gave_up(*, variant: Variant, attempts: int) -> None:
    """Record that automatic retries stopped: the variant stays pending (fail closed) and the record
    says so, so nobody mistakes silence for a pass."""
    safety_events.retries_exhausted(variant=variant, attempts=attempts)
