"""Audit events of configuration: deployments, workspace settings, memberships, campaigns and the
global price and safety tables."""

from __future__ import annotations

from typing import Any

from studio.core.audit import audit_record
from studio.core.events import event_group, event_type
from studio.core.models import AuditEvent, Workspace
from studio.generation.events.subjects import CAMPAIGN, DEPLOYMENT, MEMBERSHIP, PRICE_TABLE, WORKSPACE
from studio.safety.events import SAFETY_RULE

event_group("studio.deployment", "Deployments")
event_group("studio.workspace", "Workspace settings")
event_group("studio.membership", "Memberships")
event_group("studio.campaign", "Campaigns")
event_group("studio.price_table", "Price tables")
event_group("studio.safety_rule", "Safety rules")

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
    subject_kind=MEMBERSHIP,
)
CAMPAIGN_CHANGED = event_type(
    "studio.campaign.changed",
    label="Campaign changed",
    message="{actor} changed {subject}",
    subject_kind=CAMPAIGN,
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
    subject_kind=PRICE_TABLE,
)
SAFETY_RULE_CHANGED = event_type(
    "studio.safety_rule.changed",
    label="Safety rule changed",
    message="{actor} {action} the safety rule {category}: {pattern}",
    subject_kind=SAFETY_RULE,
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
