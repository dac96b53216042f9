"""The studio's audit vocabulary: every event type the studio writes, with one builder per event.

Machine names and subject kinds are part of the hash chain and never change; labels and messages are
presentation and may be reworded. Each builder takes the domain objects and writes exactly the ``data``
the studio has always written for that event (compliance exports and tests compare it). Services call
the builders; nothing in the studio writes to the chain any other way.

Imported from ``StudioConfig.ready()`` so every type is registered before the compliance log lists them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from studio.core.audit import audit_record
from studio.core.events import event_type
from studio.core.models import AuditEvent, Workspace

DRAFT = "studio.promptdraft"
JOB = "studio.generationjob"
VARIANT = "studio.variant"
DEPLOYMENT = "studio.deployment"
WORKSPACE = "studio.workspace"

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


# --- deployments --------------------------------------------------------------------------------------

DEPLOYMENT_CREATED = event_type(
    "studio.deployment.created",
    label="Deployment added",
    message="{actor} added the deployment {name} ({via})",
    subject_kind=DEPLOYMENT,
)
DEPLOYMENT_UPDATED = event_type(
    "studio.deployment.updated",
    label="Deployment changed",
    message="{actor} changed the deployment {name} ({via}): {changes}",
    subject_kind=DEPLOYMENT,
)


def deployment_created(*, deployment: Any, actor: Any, changes: dict, via: str) -> AuditEvent:
    return audit_record(
        DEPLOYMENT_CREATED,
        workspace=deployment.workspace,
        actor=actor,
        subject=deployment,
        data={"name": deployment.name, "changes": changes, "via": via},
    )


def deployment_updated(*, deployment: Any, actor: Any, changes: dict, via: str) -> AuditEvent:
    return audit_record(
        DEPLOYMENT_UPDATED,
        workspace=deployment.workspace,
        actor=actor,
        subject=deployment,
        data={"name": deployment.name, "changes": changes, "via": via},
    )


# --- workspace settings -------------------------------------------------------------------------------

WORKSPACE_SETTINGS_CHANGED = event_type(
    "studio.workspace.settings_changed",
    label="Workspace settings changed",
    message="{actor} changed the safety and review settings of {subject}",
    subject_kind=WORKSPACE,
)
WORKSPACE_FAIL_OPEN_ENABLED = event_type(
    "studio.workspace.fail_open_enabled",
    label="Safety fail-open switched on",
    message="{actor} let {subject} pass images when a safety screener is down (fail open)",
    subject_kind=WORKSPACE,
)
WORKSPACE_FAIL_OPEN_DISABLED = event_type(
    "studio.workspace.fail_open_disabled",
    label="Safety fail-open switched off",
    message="{actor} made {subject} hold images when a safety screener is down (fail closed)",
    subject_kind=WORKSPACE,
)


def _workspace_event(kind: Any, *, workspace: Workspace, actor: Any, changes: dict) -> AuditEvent:
    return audit_record(kind, workspace=workspace, actor=actor, subject=workspace, data={"changes": changes})


def workspace_settings_changed(*, workspace: Workspace, actor: Any, changes: dict) -> AuditEvent:
    return _workspace_event(WORKSPACE_SETTINGS_CHANGED, workspace=workspace, actor=actor, changes=changes)


def workspace_fail_open_enabled(*, workspace: Workspace, actor: Any, changes: dict) -> AuditEvent:
    return _workspace_event(WORKSPACE_FAIL_OPEN_ENABLED, workspace=workspace, actor=actor, changes=changes)


def workspace_fail_open_disabled(*, workspace: Workspace, actor: Any, changes: dict) -> AuditEvent:
    return _workspace_event(WORKSPACE_FAIL_OPEN_DISABLED, workspace=workspace, actor=actor, changes=changes)


# --- admin changes (memberships, campaigns and budgets) -------------------------------------------------

MEMBERSHIP_CHANGED = event_type(
    "studio.membership.changed",
    label="Membership changed",
    message="{actor} changed a membership in the workspace ({subject})",
    subject_kind="studio.membership",
)
CAMPAIGN_CHANGED = event_type(
    "studio.campaign.changed",
    label="Campaign changed",
    message="{actor} changed the campaign {subject}",
    subject_kind="studio.campaign",
)


def membership_changed(*, membership: Any, actor: Any, action: str, changes: dict, via: str) -> AuditEvent:
    """``action`` is added / changed / deleted; ``changes`` maps field -> {"before", "after"}."""
    return audit_record(
        MEMBERSHIP_CHANGED,
        workspace=membership.workspace,
        actor=actor,
        subject=membership,
        subject_id=str(membership.pk or ""),
        data={
            "action": action,
            "user": membership.user.get_username(),
            "role": membership.role,
            "changes": changes,
            "via": via,
        },
    )


def campaign_changed(*, campaign: Any, actor: Any, action: str, changes: dict, via: str) -> AuditEvent:
    return audit_record(
        CAMPAIGN_CHANGED,
        workspace=campaign.workspace,
        actor=actor,
        subject=campaign,
        subject_id=str(campaign.pk or ""),
        data={"action": action, "name": campaign.name, "changes": changes, "via": via},
    )


# --- admin changes to the global tables (price tables, safety rule packs): recorded in every chain they
# apply to, since they decide what every affected workspace is charged and what its screening flags ------

PRICE_TABLE_CHANGED = event_type(
    "studio.price_table.changed",
    label="Price table changed",
    message="{actor} {action} the price table for {model_name} from {effective_from}",
    subject_kind="studio.pricetable",
)
SAFETY_RULE_CHANGED = event_type(
    "studio.safety_rule.changed",
    label="Safety rule changed",
    message="{actor} {action} the safety rule {category}: {pattern}",
    subject_kind="approvals.safetyrule",
)


def price_table_changed(
    *, workspace: Workspace, price_table: Any, actor: Any, action: str, changes: dict, via: str
) -> AuditEvent:
    return audit_record(
        PRICE_TABLE_CHANGED,
        workspace=workspace,
        actor=actor,
        subject=price_table,
        subject_id=str(price_table.pk or ""),
        data={
            "action": action,
            "model_name": price_table.model_name,
            "provider": price_table.provider,
            "effective_from": str(price_table.effective_from),
            "changes": changes,
            "via": via,
        },
    )


def safety_rule_changed(
    *, workspace: Workspace, rule: Any, actor: Any, action: str, changes: dict, via: str
) -> AuditEvent:
    return audit_record(
        SAFETY_RULE_CHANGED,
        workspace=workspace,
        actor=actor,
        subject=rule,
        subject_id=str(rule.pk or ""),
        data={
            "action": action,
            "sector": rule.sector,
            "category": rule.category,
            "pattern": rule.pattern,
            "verdict": rule.verdict,
            "changes": changes,
            "via": via,
        },
    )


# --- repairs by the sweeper (``jobs_sweep``): one event per repair, made by nobody in particular ---------

JOB_REQUEUED = event_type(
    "studio.job.requeued",
    label="Generation re-queued",
    message="{actor} re-queued {subject}: {reason}",
    subject_kind=JOB,
)
VARIANT_RESCREEN_REQUEUED = event_type(
    "studio.variant.rescreen_requeued",
    label="Image check re-queued",
    message="{actor} re-queued the safety check of {subject}: {reason}",
    subject_kind=VARIANT,
)
JOB_RESERVATION_RELEASED = event_type(
    "studio.job.reservation_released",
    label="Reservation released",
    message="{actor} released the {amount} still reserved by the finished {subject}",
    subject_kind=JOB,
)


def job_requeued(*, job: Any, reason: str, status: str) -> AuditEvent:
    """``status``: what the job was when the sweeper found it ("queued" with no worker, or "running"
    past its lease)."""
    data = {"reason": reason, "status": str(status), "attempts": job.attempts}
    return audit_record(JOB_REQUEUED, workspace=job.workspace, actor=None, subject=job, data=data)


def variant_rescreen_requeued(*, variant: Any, reason: str) -> AuditEvent:
    data = {"reason": reason, "job": variant.job_id}
    return audit_record(VARIANT_RESCREEN_REQUEUED, workspace=variant.workspace, actor=None, subject=variant, data=data)


def job_reservation_released(*, job: Any, amount: Decimal) -> AuditEvent:
    data = {"amount": amount, "status": str(job.status)}
    return audit_record(JOB_RESERVATION_RELEASED, workspace=job.workspace, actor=None, subject=job, data=data)


# --- focal point (where renditions crop around) ---------------------------------------------------------

VARIANT_FOCAL_POINT_SET = event_type(
    "studio.variant.focal_point_set",
    label="Focal point set",
    message="{actor} set the focal point of {subject} to {position}",
    subject_kind=VARIANT,
)


def variant_focal_point_set(*, variant: Any, actor: Any, before: list, after: list) -> AuditEvent:
    """``before`` / ``after``: [x, y] as fractions (None = the centre on that axis)."""

    def words(point: list) -> str:
        if point[0] is None and point[1] is None:
            return "the centre"
        x, y = (0.5 if v is None else v for v in point)
        return f"{round(x * 100)}% across, {round(y * 100)}% down"

    return audit_record(
        VARIANT_FOCAL_POINT_SET,
        workspace=variant.workspace,
        actor=actor,
        subject=variant,
        data={"before": before, "after": after, "position": words(after)},
    )
