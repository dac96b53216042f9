"""Which audit events become which webhook events, and what the webhook says.

The audit chain announces every committed event (``studio.core.audit.chain.audit_event_committed``);
this table picks the ones endpoints can subscribe to. Machine names come from each app's ``events.py``.
To add a source, add its audit action here: nothing else changes.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from approvals.webhooks.models import WebhookEventType as W
from studio.core.audit import actor_name
from studio.core.models import AuditEvent

AUDIT_TO_WEBHOOK: dict[str, str] = {
    # approvals.publishing.events
    "approvals.publication.created": W.PUBLICATION_CREATED,
    "approvals.publication.retracted": W.PUBLICATION_RETRACTED,
    # approvals.reviews.events: every stage decision, overrides included
    "approvals.stage.approved": W.REVIEW_DECIDED,
    "approvals.stage.approved_with_changes": W.REVIEW_DECIDED,
    "approvals.stage.changes_requested": W.REVIEW_DECIDED,
    "approvals.stage.rejected": W.REVIEW_DECIDED,
    "approvals.safety.override_granted": W.REVIEW_DECIDED,
    "approvals.safety.override_refused": W.REVIEW_DECIDED,
    # studio.runs.events: a run reached its end (finished, or stopped by the system)
    "runs.run.finished": W.RUN_FINISHED,
    "runs.run.stopped": W.RUN_FINISHED,
    # approvals.costs.events
    "costs.budget.alert_sent": W.BUDGET_THRESHOLD,
}

# Audit data keys that are internal detail, not part of the public webhook contract.
_DROPPED_KEYS = frozenset({"comment_ids", "recipients", "recipient_ids"})


def webhook_type_for(action: str) -> str | None:
    return AUDIT_TO_WEBHOOK.get(action)


def payload_for(event: AuditEvent, webhook_type: str, *, workspace_slug: str) -> dict[str, Any]:
    """The Standard Webhooks body: ``type``, ``timestamp`` and ``data`` (the audit event's facts)."""
    facts = {k: v for k, v in (event.data or {}).items() if k not in _DROPPED_KEYS}
    return {
        "type": webhook_type,
        "timestamp": (event.created_at or timezone.now()).isoformat(),
        "data": {
            "workspace": workspace_slug,
            "subject": {"kind": event.subject_type, "id": event.subject_id},
            "actor": actor_name(event.actor_label),
            "audit_event": {"action": event.action, "seq": event.seq, "hash": event.hash},
            **facts,
        },
    }
