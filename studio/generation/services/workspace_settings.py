"""Recording changes to a workspace's safety and review configuration (made through the admin)."""

from __future__ import annotations

from django.db import transaction

from studio.core.models import Workspace
from studio.generation import events
from studio.safety.tasks import safety_blocklist_sync

SAFETY_SETTING_FIELDS = (
    "sector",
    "regulated",
    "safety_fail_open",
    "safety_screeners",
    "blocklist_terms",
    "safety_policy",
    "review_sla_hours",
    "style_guide",
)


@transaction.atomic
def workspace_settings_changed(*, actor, workspace: Workspace, before: dict) -> dict:
    """Record a change of a workspace's configuration (made through the admin) in the audit chain, in the
    admin's transaction. Switching a workspace to fail open is called out explicitly, because it lets
    images through when a screener is down. Queues the Azure blocklist sync when the terms changed."""
    changes = {
        field: {"before": before.get(field), "after": getattr(workspace, field)}
        for field in SAFETY_SETTING_FIELDS
        if before.get(field) != getattr(workspace, field)
    }
    if not changes:
        return changes
    record = events.workspace_settings_changed
    if "safety_fail_open" in changes:
        record = (
            events.workspace_fail_open_enabled if workspace.safety_fail_open else events.workspace_fail_open_disabled
        )
    record(workspace=workspace, actor=actor, changes=changes)
    if "blocklist_terms" in changes and "azure" in (workspace.safety_screeners or []):
        workspace_id = workspace.pk
        transaction.on_commit(lambda: safety_blocklist_sync.delay(workspace_id))
    return changes
