"""The cost app's audit vocabulary: a budget alert sent, and its threshold changed.

``CostsConfig.ready()`` imports this module so the types are registered before the log lists them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from studio.core.audit import audit_record
from studio.core.events import event_group, event_type
from studio.core.models import AuditEvent
from studio.generation.events.subjects import CAMPAIGN

event_group("costs.budget", "Budget alerts")

BUDGET_ALERT_SENT = event_type(
    "costs.budget.alert_sent",
    label="Budget alert sent",
    message="{subject} reached {percent}% of its budget: {recipients} people were told",
    subject_kind=CAMPAIGN,
)
BUDGET_ALERT_THRESHOLD_CHANGED = event_type(
    "costs.budget.alert_threshold_changed",
    label="Budget alert threshold changed",
    message="{actor} set the budget alert of {subject} to {percent}% (was {previous}%)",
    subject_kind=CAMPAIGN,
)


def budget_alert_sent(*, campaign: Any, used: Decimal, percent: int, recipients: list[int]) -> AuditEvent:
    return audit_record(
        BUDGET_ALERT_SENT,
        workspace=campaign.workspace,
        actor=None,
        subject=campaign,
        data={
            "percent": percent,
            "threshold_percent": campaign.budget_alert_percent,
            "budget": str(campaign.budget),
            "spent": str(campaign.spent_cost),
            "reserved": str(campaign.reserved_cost),
            "used": str(used),
            "recipients": len(recipients),
            "recipient_ids": recipients,
        },
    )


def budget_alert_threshold_changed(*, campaign: Any, actor: Any, previous: int, rearmed: bool) -> AuditEvent:
    return audit_record(
        BUDGET_ALERT_THRESHOLD_CHANGED,
        workspace=campaign.workspace,
        actor=actor,
        subject=campaign,
        data={"percent": campaign.budget_alert_percent, "previous": previous, "rearmed": rearmed},
    )
