"""The safety layer's audit vocabulary: what the screeners said and what it did to an image.

The machine names keep the ``approvals.safety.`` prefix they had when safety lived in the review app:
they are part of the hash chain. Screening records are about a job (its prompt) or a variant (its image),
so those two events carry the kind of the subject they are written for (``studio.generationjob`` or
``studio.variant``, exactly as before); the declared kind is the usual one.

The builders take the subject as a model instance and the ids as plain values, so this module needs
nothing from the layers above. Imported from ``SafetyConfig.ready()``.
"""

from __future__ import annotations

import dataclasses

from django.db import models

from studio.core.audit import audit_record, subject_kind
from studio.core.events import EventType, event_group, event_type
from studio.core.models import AuditEvent, Workspace
from studio.core.subjects import Link, Values, subject_kind_register
from studio.safety.models import SafetyStage
from studio.safety.types import ROUTE_WORDS, Screening

VARIANT = "studio.variant"  # named by the studio (studio.generation.events.subjects)
_STAGE_WORDS = {stage.value: stage.label.lower() for stage in SafetyStage}


def _check_link(values: Values, pk: str, slug: str) -> Link:
    if values.get("variant"):
        return "compliance:trail", [slug, values["variant"]]
    if values.get("job"):
        return "studio:job_status", [slug, values["job"]]
    return None


ASSESSMENT = subject_kind_register(
    "approvals.safetyassessment",
    title="Safety check",
    noun="safety check",
    model="safety.SafetyAssessment",
    fields={"stage": "stage", "variant": "variant_id", "job": "job_id"},
    label=lambda v, pk: f"safety check #{pk} ({_STAGE_WORDS.get(v.get('stage'), 'screening')})",
    link=_check_link,
)
SAFETY_RULE = subject_kind_register(
    "approvals.safetyrule",
    title="Safety rule",
    noun="safety rule",
    model="safety.SafetyRule",
    fields={"category": "category"},
    label=lambda v, pk: f"safety rule #{pk} ({v['category']})" if v.get("category") else "",
)

event_group("approvals.safety", "Safety")

SCREENED = event_type(
    "approvals.safety.screened",
    label="Safety check",
    message="{actor} screened {subject} ({stage}): {message}",
    subject_kind=VARIANT,  # or "studio.generationjob" for a prompt screening
)
PROVIDER_FILTERED = event_type(
    "approvals.safety.provider_filtered",
    label="Image service's filter",
    message="The image service's own filter rated {subject} ({stage}): {verdict}, {decided_by}",
    subject_kind=VARIANT,  # or "studio.generationjob" for the prompt filter and refusals
)
VERDICT = event_type(
    "approvals.safety.verdict",
    label="Safety verdict",
    message="{actor} gave {subject} the safety verdict “{route}”: {message}",
    subject_kind=VARIANT,
)
RETRIES_EXHAUSTED = event_type(
    "approvals.safety.retries_exhausted",
    label="Safety check still pending",
    message="{actor} stopped retrying the safety check of {subject} after {attempts} attempts",
    subject_kind=VARIANT,
)


def _for(kind: EventType, subject: models.Model) -> EventType:
    """The event type with the subject's own kind (a job or a variant), so the chain keeps what it
    always stored. Same action, label and message: the registry's entry describes both."""
    actual = subject_kind(subject)
    return kind if actual == kind.subject_kind else dataclasses.replace(kind, subject_kind=actual)


def screened(
    *,
    workspace: Workspace,
    subject: models.Model,
    screening: Screening,
    stage: str,
    job_id: int | None,
    variant_id: int | None,
    assessment_ids: list[int],
) -> AuditEvent:
    return audit_record(
        _for(SCREENED, subject),
        workspace=workspace,
        actor=None,
        subject=subject,
        data={
            "stage": stage,
            "verdict": screening.verdict,
            "route": ROUTE_WORDS[screening.verdict],
            "decided_by": screening.decided_by,
            "message": screening.message,
            "only_local": screening.only_local,
            "job": job_id,
            "variant": variant_id,
            "screeners": [r.summary() for r in screening.results],
            "assessments": assessment_ids,
        },
    )


def provider_filtered(
    *,
    workspace: Workspace,
    subject: models.Model,
    assessment_id: int,
    stage: str,
    verdict: str,
    decided_by: str,
    blocked: bool,
    categories: list[str] | None,
) -> AuditEvent:
    return audit_record(
        _for(PROVIDER_FILTERED, subject),
        workspace=workspace,
        actor=None,
        subject=subject,
        data={
            "stage": stage,
            "verdict": verdict,
            "decided_by": decided_by,
            "blocked": blocked,
            "categories": categories or [],
            "assessment": assessment_id,
        },
    )


def verdict(
    *, variant: models.Model, verdict: str, previous_status: str, previous_verdict: str, screening: Screening
) -> AuditEvent:
    """``variant`` already carries its new status, verdict and severity."""
    return audit_record(
        VERDICT,
        workspace=variant.workspace,
        actor=None,
        subject=variant,
        data={
            "verdict": verdict,
            "route": ROUTE_WORDS[verdict],
            "status": variant.status,
            "previous_status": previous_status,
            "previous_verdict": previous_verdict,
            "decided_by": screening.decided_by,
            "message": screening.message,
            "severity": variant.safety_severity,
        },
    )


def retries_exhausted(*, variant: models.Model, attempts: int) -> AuditEvent:
    return audit_record(
        RETRIES_EXHAUSTED,
        workspace=variant.workspace,
        actor=None,
        subject=variant,
        data={
            "attempts": attempts,
            "message": "The safety check is still pending after automatic retries; "
            "an admin can re-run it once the screener is back.",
        },
    )
