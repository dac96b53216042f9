"""The outbox's audit vocabulary: a repair (a message the broker never took, published again)."""

from __future__ import annotations

from typing import Any

from studio.core.audit import audit_record
from studio.core.events import event_group, event_type
from studio.core.models import AuditEvent
from studio.core.subjects import subject_kind_register

OUTBOX_MESSAGE = subject_kind_register(
    "core.outboxmessage",
    title="Queued work",
    noun="queued work",
    model="core.OutboxMessage",
)

event_group("core.outbox", "Queued work")

OUTBOX_REPUBLISHED = event_type(
    "core.outbox.republished",
    label="Queued work re-sent",
    message="{actor} re-sent queued work ({task}) that the queue never received: {reason}",
    subject_kind=OUTBOX_MESSAGE,
)


def outbox_republished(*, message: Any, reason: str) -> AuditEvent:
    return audit_record(
        OUTBOX_REPUBLISHED,
        workspace=message.workspace,
        actor=None,
        subject=message,
        data={
            "task": message.task_name,
            "args": message.args,
            "attempts": message.attempts,
            "reason": reason,
            "last_error": message.last_error,
        },
    )
