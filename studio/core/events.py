"""The audit vocabulary: one registry of event types, in the spirit of Wagtail's ``LogActionRegistry``
and Zulip's ``AuditLogEventType``.

Each app declares its own event types in its ``events.py`` (``studio.generation.events``,
``approvals.reviews.events`` ...) with one builder function per event; the builders are the only way an
event is written (``studio.core.audit.audit_record``). The core knows no domain app: it stores the
machine name, renders a sentence from the event's data, and lists the types for the compliance log's
filter, grouped by namespace (the machine name before its last dot), each group titled by the app that
declares it (``event_group``). The subjects' kinds are declared the same way (``studio.core.subjects``).

The machine name (``action``) and the subject kind are part of the chain's canonical content, so they
never change once events exist; the label and the message are presentation and may be reworded freely.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EventType:
    """One kind of audit event.

    ``message`` is a ``str.format`` template rendered with the event's data plus ``actor`` (the person's
    name, or "The system") and ``subject`` (what the compliance log calls the subject, e.g.
    "“Spring sale” variant 3"). Placeholders missing from the data render as "…" rather than failing,
    so an old event whose data lacks a newer field still reads as a sentence.
    """

    action: str
    label: str
    message: str
    subject_kind: str

    @property
    def namespace(self) -> str:
        """The group the type is listed under: "runs.run" for "runs.run.finished"."""
        return self.action.rpartition(".")[0]

    def render(self, *, actor: str, subject: str, data: Mapping[str, Any]) -> str:
        plain = {k: plain_value(v) for k, v in (data or {}).items()}
        if self.message.startswith("{subject}"):  # "production run #8 …" opens the sentence: "Production run #8 …"
            subject = subject[:1].upper() + subject[1:]
        values = _SafeValues({**plain, "actor": actor, "subject": subject})
        return string.Formatter().vformat(self.message, (), values)


class _SafeValues(dict):
    def __missing__(self, key: str) -> str:
        return "…"


def plain_value(value: Any) -> str:
    """Data values as a person reads them (in sentences and in the log's details): lists joined,
    booleans as words, None as a dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(plain_value(v) for v in value) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {plain_value(v)}" for k, v in value.items()) or "—"
    return str(value)


class UnknownEventType(LookupError):
    """An audit write named an action nobody registered: a programming error, never a user's."""


class EventRegistry:
    def __init__(self) -> None:
        self._types: dict[str, EventType] = {}
        self._group_titles: dict[str, str] = {}

    def register(self, event_type: EventType) -> EventType:
        existing = self._types.get(event_type.action)
        if existing is not None and existing != event_type:
            raise ValueError(f"Audit event type {event_type.action!r} is registered twice with different meanings")
        self._types[event_type.action] = event_type
        return event_type

    def title_group(self, namespace: str, title: str) -> None:
        existing = self._group_titles.get(namespace)
        if existing is not None and existing != title:
            raise ValueError(f"Audit event group {namespace!r} is titled twice ({existing!r}, {title!r})")
        self._group_titles[namespace] = title

    def group_title(self, namespace: str) -> str:
        """The title of a namespace's group in the log's filter ("Production runs"), or the namespace."""
        return self._group_titles.get(namespace, namespace)

    def has_group_title(self, namespace: str) -> bool:
        return namespace in self._group_titles

    def get(self, action: str) -> EventType | None:
        return self._types.get(action)

    def require(self, action: str) -> EventType:
        event_type = self._types.get(action)
        if event_type is None:
            raise UnknownEventType(action)
        return event_type

    def all(self) -> list[EventType]:
        return sorted(self._types.values(), key=lambda t: (t.label.lower(), t.action))

    def choices(self) -> list[tuple[str, str]]:
        return [(t.action, t.label) for t in self.all()]

    def sentence(self, *, action: str, actor: str, subject: str, data: Mapping[str, Any] | None) -> str:
        """The event as a sentence. An action nobody registers any more (an old event) still reads as
        one: who, the machine name, and what about."""
        event_type = self._types.get(action)
        if event_type is not None:
            return event_type.render(actor=actor, subject=subject, data=data or {})
        return f"{actor}: {action}" + (f" ({subject})" if subject else "")

    def label(self, action: str) -> str:
        """The human label of ``action``, or the machine name itself for an unregistered one."""
        event_type = self._types.get(action)
        return event_type.label if event_type is not None else action

    def __contains__(self, action: object) -> bool:
        return action in self._types

    def __iter__(self) -> Iterable[EventType]:
        return iter(self.all())


registry = EventRegistry()


def event_type(action: str, *, label: str, message: str, subject_kind: str) -> EventType:
    """Declare and register one event type (called at import time of an app's ``events`` module)."""
    return registry.register(EventType(action=action, label=label, message=message, subject_kind=subject_kind))


def event_group(namespace: str, title: str) -> str:
    """Title the group of an app's event types in the log's filter ("runs.run" -> "Production runs"),
    next to the types (at import time of the app's ``events`` module). Returns the namespace."""
    registry.title_group(namespace, title)
    return namespace
