"""What an audit event is about, in words and as a link: one small registry of subject kinds.

An event names its subject by kind and id ("studio.variant", "42"), because the chain knows no domain
app. Compliance is the top layer and may import every model, so it is the one place that turns the pair
back into "“Spring sale” variant #42" with a link to the decision trail.

Labels are read in the same query as the events: ``subject_info()`` is one annotation (a ``CASE`` over
the kinds, each a correlated subquery by primary key returning a small JSON object), so a page of the log
costs the same number of queries whatever kinds, and however many events, it shows. On PostgreSQL the
subqueries run only for the rows returned (the page, or the export's stream), each an index lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import BigIntegerField, Case, JSONField, OuterRef, Subquery, Value, When
from django.db.models.functions import Cast, JSONObject
from django.urls import NoReverseMatch, reverse

from approvals.publishing.models import Publication
from approvals.reviews.models import Comment, Decision, Review, ReviewStage, StageKind
from studio.core.models import Workspace
from studio.generation.models import Deployment, GenerationJob, PromptDraft, Variant
from studio.safety.models import SafetyAssessment, SafetyStage

Values = Mapping[str, Any]
# Only ids a 64-bit key can hold are looked up: anything else (an empty id, a typo) stays unresolved
# instead of failing the cast.
_NUMERIC_ID = r"^[0-9]{1,18}$"


@dataclass(frozen=True)
class SubjectKind:
    """How to name and link one kind of subject.

    ``fields`` are read with the label (name -> lookup from the model); ``label`` and ``link`` get
    those values, the subject's id and the event's workspace slug. ``noun`` names a subject whose row is
    gone ("variant #12"); ``title`` is the kind's name in the log's subject picker.
    """

    kind: str
    title: str
    noun: str
    model: type[models.Model]
    label: Callable[[Values, str], str]
    link: Callable[[Values, str, str], tuple[str, list[Any]] | None] = lambda values, pk, slug: None
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SubjectRef:
    """One event's subject as the log shows it."""

    kind: str
    id: str
    label: str  # "" when the event is about nothing in particular
    url: str = ""
    title: str = ""  # the kind in words ("Image"), or the machine name of an unknown kind


def _quoted(title: Any) -> str:
    return f"“{title}”" if title else ""


def _of(words: str, title: Any) -> str:
    return f"{words} of {_quoted(title)}" if title else words


def _variant_words(variant_id: Any, title: Any) -> str:
    return f"{_quoted(title)} variant #{variant_id}".strip()


_STAGE_WORDS = {kind.value: kind.label.lower() for kind in StageKind}
_SAFETY_STAGE_WORDS = {stage.value: stage.label.lower() for stage in SafetyStage}


def _safety_check_link(values: Values, pk: str, slug: str) -> tuple[str, list[Any]] | None:
    if values.get("variant"):
        return "compliance:trail", [slug, values["variant"]]
    if values.get("job"):
        return "studio:job_status", [slug, values["job"]]
    return None


KINDS: tuple[SubjectKind, ...] = (
    SubjectKind(
        kind="studio.variant",
        title="Image",
        noun="variant",
        model=Variant,
        fields={"title": "draft__title"},
        label=lambda v, pk: _variant_words(pk, v.get("title")),
        link=lambda v, pk, slug: ("compliance:trail", [slug, pk]),
    ),
    SubjectKind(
        kind="studio.generationjob",
        title="Generation",
        noun="generation",
        model=GenerationJob,
        fields={"title": "draft_version__draft__title", "campaign": "campaign__name"},
        label=lambda v, pk: _of(f"generation #{pk}", v.get("title") or v.get("campaign")),
        link=lambda v, pk, slug: ("studio:job_status", [slug, pk]),
    ),
    SubjectKind(
        kind="studio.promptdraft",
        title="Draft",
        noun="draft",
        model=PromptDraft,
        fields={"title": "title"},
        label=lambda v, pk: _quoted(v.get("title")) or f"draft #{pk}",
        link=lambda v, pk, slug: ("studio:draft", [slug, pk]),
    ),
    SubjectKind(
        kind="studio.deployment",
        title="Deployment",
        noun="deployment",
        model=Deployment,
        fields={"name": "name"},
        label=lambda v, pk: f"the deployment {_quoted(v.get('name'))}",
    ),
    SubjectKind(
        kind="studio.workspace",
        title="Workspace",
        noun="workspace",
        model=Workspace,
        fields={"name": "name", "slug": "slug"},
        label=lambda v, pk: v.get("name") or f"workspace #{pk}",
        link=lambda v, pk, slug: ("studio:workspace", [v.get("slug") or slug]),
    ),
    SubjectKind(
        kind="approvals.review",
        title="Review",
        noun="review",
        model=Review,
        fields={"variant": "variant_id", "title": "variant__draft__title"},
        label=lambda v, pk: _variant_words(v.get("variant"), v.get("title")),
        link=lambda v, pk, slug: ("approvals:review_detail", [slug, pk]),
    ),
    SubjectKind(
        kind="approvals.reviewstage",
        title="Review stage",
        noun="review stage",
        model=ReviewStage,
        fields={
            "stage": "kind",
            "review": "review_id",
            "variant": "review__variant_id",
            "title": "review__variant__draft__title",
        },
        label=lambda v, pk: (
            f"the {_STAGE_WORDS.get(v.get('stage'), 'review')} of {_variant_words(v.get('variant'), v.get('title'))}"
        ),
        link=lambda v, pk, slug: ("approvals:review_detail", [slug, v.get("review")]),
    ),
    SubjectKind(
        kind="approvals.decision",
        title="Decision",
        noun="decision",
        model=Decision,
        fields={
            "review": "stage__review_id",
            "variant": "stage__review__variant_id",
            "title": "stage__review__variant__draft__title",
        },
        label=lambda v, pk: _variant_words(v.get("variant"), v.get("title")),
        link=lambda v, pk, slug: ("approvals:review_detail", [slug, v.get("review")]),
    ),
    SubjectKind(
        kind="approvals.comment",
        title="Comment",
        noun="comment",
        model=Comment,
        fields={"variant": "variant_id"},
        label=lambda v, pk: f"comment #{pk}",
        link=lambda v, pk, slug: ("studio:variant", [slug, v.get("variant")]),
    ),
    SubjectKind(
        kind="approvals.publication",
        title="Publication",
        noun="publication",
        model=Publication,
        fields={"variant": "variant_id", "title": "variant__draft__title"},
        label=lambda v, pk: _variant_words(v.get("variant"), v.get("title")),
        link=lambda v, pk, slug: ("publishing:publication_detail", [slug, pk]),
    ),
    SubjectKind(
        kind="approvals.safetyassessment",
        title="Safety check",
        noun="safety check",
        model=SafetyAssessment,
        fields={"stage": "stage", "variant": "variant_id", "job": "job_id"},
        label=lambda v, pk: f"safety check #{pk} ({_SAFETY_STAGE_WORDS.get(v.get('stage'), 'screening')})",
        link=_safety_check_link,
    ),
    SubjectKind(  # sign-in events are about a user account: named by username, linked nowhere
        kind="auth.user",
        title="User account",
        noun="user",
        model=get_user_model(),
        fields={"username": get_user_model().USERNAME_FIELD},
        label=lambda v, pk: v.get("username") or f"user #{pk}",
    ),
)
SUBJECT_KINDS: dict[str, SubjectKind] = {k.kind: k for k in KINDS}


def subject_kind_choices() -> list[tuple[str, str]]:
    """(machine name, title) of every kind, for the subject picker."""
    return sorted(((k.kind, k.title) for k in KINDS), key=lambda choice: choice[1])


def subject_info() -> Case:
    """One annotation on ``AuditEvent``: the subject's label values as a JSON object (with ``pk``), or
    NULL when the kind is unknown, the id is not a number, or the row is gone."""
    whens = []
    for kind in KINDS:
        row = (
            kind.model._default_manager.filter(pk=Cast(OuterRef("subject_id"), BigIntegerField()))
            .order_by()
            .values(info=JSONObject(pk="pk", **kind.fields))[:1]
        )
        whens.append(When(subject_type=kind.kind, subject_id__regex=_NUMERIC_ID, then=Subquery(row)))
    return Case(*whens, default=Value(None), output_field=JSONField())


def _reverse(target: tuple[str, list[Any]] | None) -> str:
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
    kind = SUBJECT_KINDS.get(subject_type)
    if kind is None:  # a kind nobody labels: the machine name is all there is
        label = f"{subject_type} #{subject_id}" if subject_id else subject_type
        return SubjectRef(kind=subject_type, id=str(subject_id), label=label, title=subject_type)
    if info is None:  # the row is gone (or never existed): say what it was
        return SubjectRef(kind=subject_type, id=str(subject_id), label=f"{kind.noun} #{subject_id}", title=kind.title)
    return SubjectRef(
        kind=subject_type,
        id=str(subject_id),
        label=kind.label(info, str(subject_id)),
        url=_reverse(kind.link(info, str(subject_id), workspace_slug)) if with_link else "",
        title=kind.title,
    )
