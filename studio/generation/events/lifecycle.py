"""Audit events of drafts, jobs and variants: what marketers make and what the provider returned."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from studio.core.audit import audit_record
from studio.core.events import event_group, event_type
from studio.core.models import AuditEvent
from studio.generation.events.subjects import DRAFT, JOB, VARIANT

event_group("studio.draft", "Drafts")
event_group("studio.job", "Generations")
event_group("studio.variant", "Images")

# --- drafts -------------------------------------------------------------------------------------------

DRAFT_CREATED = event_type(
    "studio.draft.created",
    label="Draft created",
    message="{actor} created the draft {subject}",
    subject_kind=DRAFT,
)
DRAFT_VERSION_ADDED = event_type(
    "studio.draft.version_added",
    label="Draft edited",
    message="{actor} saved version {version} of the draft {subject}",
    subject_kind=DRAFT,
)


def draft_created(*, draft: Any, version: Any, actor: Any) -> AuditEvent:
    return audit_record(
        DRAFT_CREATED,
        workspace=draft.workspace,
        actor=actor,
        subject=draft,
        data={
            "title": draft.title,
            "campaign": draft.campaign.slug,
            "version": 1,
            "text": version.text,
            "locale_copy": version.locale_copy,
        },
    )


def draft_version_added(*, draft: Any, version: Any, actor: Any) -> AuditEvent:
    return audit_record(
        DRAFT_VERSION_ADDED,
        workspace=draft.workspace,
        actor=actor,
        subject=draft,
        data={
            "version": version.number,
            "text": version.text,
            "locale_copy": version.locale_copy,
            "variables": version.variables,
        },
    )


# --- jobs ---------------------------------------------------------------------------------------------

JOB_CREATED = event_type(
    "studio.job.created",
    label="Generation started",
    message="{actor} started {subject}: {operation} at {planned} on {deployment}",
    subject_kind=JOB,
)
JOB_RERUN = event_type(
    "studio.job.rerun",
    label="Generation re-run",
    message="{actor} re-ran generation #{rerun_of} as {subject}",
    subject_kind=JOB,
)
JOB_RETRYING = event_type(
    "studio.job.retrying",
    label="Generation retrying",
    message="{actor} is retrying {subject} after the image service answered {status} (attempt {attempt})",
    subject_kind=JOB,
)
JOB_SUCCEEDED = event_type(
    "studio.job.succeeded",
    label="Generation finished",
    message="{actor} finished {subject} (cost {actual_cost} USD, estimated {estimated_cost})",
    subject_kind=JOB,
)
JOB_BLOCKED = event_type(
    "studio.job.blocked",
    label="Generation blocked",
    message="{actor} blocked {subject}: {message}",
    subject_kind=JOB,
)
JOB_FAILED = event_type(
    "studio.job.failed",
    label="Generation failed",
    message="{actor} stopped {subject}: {message}",
    subject_kind=JOB,
)


def job_created(*, job: Any, actor: Any, estimate: Any, references: list[Any]) -> AuditEvent:
    return audit_record(
        JOB_CREATED,
        workspace=job.workspace,
        actor=actor,
        subject=job,
        data={
            "operation": job.operation,
            "prompt": job.prompt,
            "instruction": job.instruction,
            "params": job.params,
            "target": job.target_size,
            "planned": job.planned_size,
            "plan_notes": job.plan_notes,
            "route": job.route,
            "estimated_cost": estimate.amount,
            "estimate_basis": estimate.basis,
            "deployment": job.deployment.name,
            "base_variant": job.base_variant_id,
            "references": [r.pk for r in references],
            "draft_version": job.draft_version.number,
        },
    )


def job_rerun(*, job: Any, rerun_of: Any, actor: Any) -> AuditEvent:
    return audit_record(
        JOB_RERUN,
        workspace=job.workspace,
        actor=actor,
        subject=job,
        data={
            "rerun_of": rerun_of.pk,
            "params": job.params,
            "planned": job.planned_size,
            "estimated_cost": job.estimated_cost,
        },
    )


def job_retrying(*, job: Any, error: Any) -> AuditEvent:
    return audit_record(
        JOB_RETRYING,
        workspace=job.workspace,
        actor=None,
        subject=job,
        data={
            "code": error.code,
            "status": error.status_code,
            "retry_after": error.retry_after,
            "attempt": job.attempts,
        },
    )


def job_succeeded(*, job: Any, variants: list[Any], actual: Decimal) -> AuditEvent:
    return audit_record(
        JOB_SUCCEEDED,
        workspace=job.workspace,
        actor=None,
        subject=job,
        data={
            "variants": [v.pk for v in variants],
            "usage": job.usage,
            "actual_cost": actual,
            "estimated_cost": job.estimated_cost,
            "latency_ms": job.latency_ms,
            "request_id": job.provider_request_id,
        },
    )


def _ended(kind: Any, *, job: Any, code: str, message: str, categories: list | None, data: dict | None) -> AuditEvent:
    return audit_record(
        kind,
        workspace=job.workspace,
        actor=None,
        subject=job,
        data={"code": code, "message": message, "categories": categories or [], **(data or {})},
    )


def job_blocked(
    *, job: Any, code: str, message: str, categories: list | None = None, data: dict | None = None
) -> AuditEvent:
    """``data``: the stage that blocked (and who decided, or the provider's request id)."""
    return _ended(JOB_BLOCKED, job=job, code=code, message=message, categories=categories, data=data)


def job_failed(
    *, job: Any, code: str, message: str, categories: list | None = None, data: dict | None = None
) -> AuditEvent:
    """``data``: the provider's status, error kind and request id, or why the job was given up."""
    return _ended(JOB_FAILED, job=job, code=code, message=message, categories=categories, data=data)


# --- variants -----------------------------------------------------------------------------------------

VARIANT_CREATED = event_type(
    "studio.variant.created",
    label="Image created",
    message="{actor} got a new image, {subject} ({size})",
    subject_kind=VARIANT,
)
VARIANT_STATUS_CHANGED = event_type(
    "studio.variant.status_changed",
    label="Image status changed",
    message="{actor} changed the status of {subject} from {from} to {to}",
    subject_kind=VARIANT,
)


def variant_created(*, variant: Any, job: Any, mismatch: str | None) -> AuditEvent:
    return audit_record(
        VARIANT_CREATED,
        workspace=job.workspace,
        actor=job.created_by,
        subject=variant,
        data={
            "job": job.pk,
            "sha256": variant.sha256,
            "size": variant.size,
            "planned": job.planned_size,
            "size_mismatch": mismatch,
            "operation": job.operation,
            "parent": job.base_variant_id,
        },
    )


def variant_status_changed(*, variant: Any, actor: Any, previous: str) -> AuditEvent:
    """The generic record of a status change nobody's domain event describes (see ``lifecycle``)."""
    return audit_record(
        VARIANT_STATUS_CHANGED,
        workspace=variant.workspace,
        actor=actor,
        subject=variant,
        data={"from": str(previous), "to": str(variant.status)},
    )
