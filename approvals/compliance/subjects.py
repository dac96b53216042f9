"""What an audit event is about, in words and as a link, read with the events.

An event names its subject by kind and id ("studio.variant", "42"), because the chain knows no domain
app. Each app declares its kinds (title, noun, the fields its label needs, label, link) in the registry
``studio.core.subjects``, next to its event types; this module turns the pair back into "“Spring sale”
variant #42" with a link to the decision trail, for the log, the trails and the exports.

Labels are read in the same query as the events: ``subject_info()`` is one annotation (a ``CASE`` over
the registered kinds, each a correlated subquery by primary key returning a small JSON object), so a page
of the log costs the same number of queries whatever kinds, and however many events, it shows. On
PostgreSQL the subqueries run only for the rows returned (the page, or the export's stream), each an
index lookup.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import BigIntegerField, Case, JSONField, OuterRef, Subquery, Value, When
from django.db.models.functions import Cast, JSONObject
from django.urls import NoReverseMatch, reverse

from studio.core.subjects import Link, subjects

Values = Mapping[str, Any]
# Only ids a 64-bit key can hold are looked up: anything else (an empty id, a typo) stays unresolved
# instead of failing the cast.
_NUMERIC_ID = r"^[0-9]{1,18}$"


@dataclass(frozen=True)
class SubjectRef:
    """One event's subject as the log shows it."""

    kind: str
    id: str
    label: str  # "" when the event is about nothing in particular
    url: str = ""
    title: str = ""  # the kind in words ("Image"), or the machine name of a kind nobody registers


def subject_kind_choices() -> list[tuple[str, str]]:
    """(machine name, title) of every registered kind, by title, for the subject picker."""
    return subjects.choices()


def subject_info() -> Case:
    """One annotation on ``AuditEvent``: the subject's label values as a JSON object (with ``pk``), or
    NULL when the kind is unknown, the id is not a number, or the row is gone."""
    whens = []
    for kind in subjects.all():
        row = (
            kind.model_class()
            ._default_manager.filter(pk=Cast(OuterRef("subject_id"), BigIntegerField()))
            .order_by()
            .values(info=JSONObject(pk="pk", **kind.fields))[:1]
        )
        whens.append(When(subject_type=kind.kind, subject_id__regex=_NUMERIC_ID, then=Subquery(row)))
    return Case(*whens, default=Value(None), output_field=JSONField())


def _reverse(target: Link) -> str:
    if target is None or any(arg in (None, "") for arg in target[1]):
        return ""
    try:
        return reverse(target[0], args=target[1])
    except NoReverseMatch:
        return ""


def subject_ref(
    *, subject_type: str, subject_id: str, workspace_slug: str, info: Values | None, with_link: bool = True
) -> SubjectRef:
    """The label and link of one event's subject. ``info`` is the ``subject_info()`` annotation."""
    if not subject_type:
        return SubjectRef(kind="", id=str(subject_id or ""), label="")
    kind = subjects.get(subject_type)
    pk = str(subject_id)
    if kind is None:  # a kind nobody registers (an old event's): the machine name is all there is
        label = f"{subject_type} #{subject_id}" if subject_id else subject_type
        return SubjectRef(kind=subject_type, id=pk, label=label, title=subject_type)
    if info is None:  # the row is gone (or never existed): say what it was
        return SubjectRef(kind=subject_type, id=pk, label=kind.gone(pk), title=kind.title)
    return SubjectRef(
        kind=subject_type,
        id=pk,
        label=kind.words(info, pk),
        url=_reverse(kind.target(info, pk, workspace_slug)) if with_link else "",
        title=kind.title,
    )
