"""The audit log as a person reads it: one sentence per event, its subject as a link, and its data as a
short list of labelled values (never a Python dict).

The sentence comes from the event-type registry (``studio.core.events``): the person's name, the type's
message rendered with the event's data, and the subject's label from ``approvals.compliance.subjects``.
An event of a type nobody registers any more still shows, labelled with its machine name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from approvals.compliance.subjects import SubjectRef, subject_ref
from studio.core.audit import actor_name
from studio.core.events import plain_value, registry
from studio.core.models import AuditEvent


@dataclass(frozen=True)
class LogEntry:
    event: AuditEvent
    label: str  # the event type's label, or the machine name of an unregistered one
    known: bool  # whether the action is registered
    actor: str  # the person's name ("The system" for automatic steps)
    sentence: str
    subject: SubjectRef
    details: list[tuple[str, str]]


def event_sentence(*, action: str, actor_label: str, subject: SubjectRef, data: Mapping[str, Any] | None) -> str:
    return registry.sentence(action=action, actor=actor_name(actor_label), subject=subject.label, data=data)


def _key_words(key: str) -> str:
    return str(key).replace("_", " ").strip().capitalize() or str(key)


def event_details(data: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """The event's data as (label, value) pairs in its own order, values in plain words."""
    if not isinstance(data, Mapping):
        return [("Value", plain_value(data))] if data not in (None, "", [], {}) else []
    return [(_key_words(key), plain_value(value) or "—") for key, value in data.items()]


def log_entry(event: AuditEvent) -> LogEntry:
    """One event as the log shows it. Needs ``event.workspace`` loaded and the ``subject_info``
    annotation (``subjects.subject_info()``) for its subject; costs no query then."""
    subject = subject_ref(
        subject_type=event.subject_type,
        subject_id=event.subject_id,
        workspace_slug=event.workspace.slug,
        info=getattr(event, "subject_info", None),
    )
    return LogEntry(
        event=event,
        label=registry.label(event.action),
        known=event.action in registry,
        actor=actor_name(event.actor_label),
        sentence=event_sentence(action=event.action, actor_label=event.actor_label, subject=subject, data=event.data),
        subject=subject,
        details=event_details(event.data),
    )


def log_entries(events: Iterable[AuditEvent]) -> list[LogEntry]:
    return [log_entry(event) for event in events]
