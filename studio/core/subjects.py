"""What an audit event is about, in words: one registry of subject kinds, next to the event registry.

An event names its subject by kind and id ("runs.productionrun", "8"), because the chain knows no domain
app. Each app declares the kinds its events use in its ``events`` module (imported from its
``AppConfig.ready()``), as it declares its event types: the kind's title in the compliance log's subject
picker ("Production run"), the noun for a subject whose row is gone ("production run #8"), and, when the
row is there, the few fields its label needs, the label ("production run #8 of “Spring launch”") and a
link (a URL name and its arguments, reversed only when the log renders).

The compliance log reads every kind's fields in the same query as the events
(``approvals.compliance.subjects.subject_info``), so a kind added here costs the log no query.

The machine name of a kind is part of the chain's canonical content and never changes; titles, nouns,
labels and links are presentation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import models

Values = Mapping[str, Any]
Link = tuple[str, list[Any]] | None


@dataclass(frozen=True, eq=False)
class SubjectKind:
    """How to name and link one kind of subject.

    ``model`` is the model class or its ``"app_label.ModelName"``. ``fields`` are read with the label
    (name -> lookup from the model); ``label`` gets those values and the subject's id, ``link`` the
    values, the id and the event's workspace slug. Without a ``label`` the subject reads as its noun and
    number; without a ``link`` it is not linked.
    """

    kind: str
    title: str
    noun: str
    model: type[models.Model] | str
    fields: Mapping[str, str] = field(default_factory=dict)
    label: Callable[[Values, str], str] | None = None
    link: Callable[[Values, str, str], Link] | None = None

    def model_class(self) -> type[models.Model]:
        return apps.get_model(self.model) if isinstance(self.model, str) else self.model

    def gone(self, pk: str) -> str:
        """The subject when its row is gone (or never existed): "production run #8"."""
        return f"{self.noun} #{pk}"

    def words(self, values: Values, pk: str) -> str:
        return (self.label(values, pk) if self.label else "") or self.gone(pk)

    def target(self, values: Values, pk: str, slug: str) -> Link:
        return self.link(values, pk, slug) if self.link else None


class SubjectRegistry:
    def __init__(self) -> None:
        self._kinds: dict[str, SubjectKind] = {}

    def register(self, kind: SubjectKind) -> SubjectKind:
        existing = self._kinds.get(kind.kind)
        if existing is not None and existing is not kind:
            raise ValueError(f"Audit subject kind {kind.kind!r} is registered twice")
        self._kinds[kind.kind] = kind
        return kind

    def get(self, kind: str) -> SubjectKind | None:
        return self._kinds.get(kind)

    def all(self) -> list[SubjectKind]:
        return sorted(self._kinds.values(), key=lambda k: (k.title.lower(), k.kind))

    def choices(self) -> list[tuple[str, str]]:
        """(machine name, title) of every kind, for the subject picker."""
        return [(k.kind, k.title) for k in self.all()]

    def __contains__(self, kind: object) -> bool:
        return kind in self._kinds


subjects = SubjectRegistry()


def subject_kind_register(
    kind: str,
    *,
    title: str,
    noun: str,
    model: type[models.Model] | str,
    fields: Mapping[str, str] | None = None,
    label: Callable[[Values, str], str] | None = None,
    link: Callable[[Values, str, str], Link] | None = None,
) -> str:
    """Declare and register one subject kind (at import time of an app's ``events`` module). Returns the
    machine name, for the event types' ``subject_kind``."""
    subjects.register(
        SubjectKind(kind=kind, title=title, noun=noun, model=model, fields=fields or {}, label=label, link=link)
    )
    return kind


# --- words the labels share ------------------------------------------------------------------------------


def quoted(title: Any) -> str:
    """“Spring launch”, or "" when there is no title."""
    return f"“{title}”" if title else ""


def of_title(words: str, title: Any) -> str:
    """ "production run #8 of “Spring launch”", or the words alone when there is no title."""
    return f"{words} of {quoted(title)}" if title else words
