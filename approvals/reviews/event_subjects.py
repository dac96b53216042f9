"""Subject kinds of the review workflow's audit events, and how the compliance log names and links them.

The machine names are part of the hash chain and never change; titles, labels and links are presentation
(``studio.core.subjects``). Imported by ``approvals.reviews.events``.
"""

from __future__ import annotations

from approvals.reviews.models import StageKind
from studio.core.subjects import Values, subject_kind_register
from studio.generation.events.subjects import variant_words

_STAGE_WORDS = {kind.value: kind.label.lower() for kind in StageKind}  # "brand review"


def _stage_words(values: Values) -> str:
    return _STAGE_WORDS.get(values.get("stage"), "review")


REVIEW = subject_kind_register(
    "approvals.review",
    title="Review",
    noun="review",
    model="approvals.Review",
    fields={"variant": "variant_id", "title": "variant__draft__title"},
    label=lambda v, pk: variant_words(v.get("variant"), v.get("title")),
    link=lambda v, pk, slug: ("approvals:review_detail", [slug, pk]),
)
STAGE = subject_kind_register(
    "approvals.reviewstage",
    title="Review stage",
    noun="review stage",
    model="approvals.ReviewStage",
    fields={
        "stage": "kind",
        "review": "review_id",
        "variant": "review__variant_id",
        "title": "review__variant__draft__title",
    },
    label=lambda v, pk: f"the {_stage_words(v)} of {variant_words(v.get('variant'), v.get('title'))}",
    link=lambda v, pk, slug: ("approvals:review_detail", [slug, v.get("review")]),
)
DECISION = subject_kind_register(
    "approvals.decision",
    title="Decision",
    noun="decision",
    model="approvals.Decision",
    fields={
        "review": "stage__review_id",
        "variant": "stage__review__variant_id",
        "title": "stage__review__variant__draft__title",
    },
    label=lambda v, pk: variant_words(v.get("variant"), v.get("title")),
    link=lambda v, pk, slug: ("approvals:review_detail", [slug, v.get("review")]),
)
COMMENT = subject_kind_register(
    "approvals.comment",
    title="Comment",
    noun="comment",
    model="approvals.Comment",
    fields={"variant": "variant_id"},
    link=lambda v, pk, slug: ("studio:variant", [slug, v.get("variant")]),
)
STAGE_POLICY = subject_kind_register(
    "approvals.stagepolicy",
    title="Review stage policy",
    noun="review stage policy",
    model="approvals.StagePolicy",
    fields={"stage": "kind"},
    label=lambda v, pk: f"the {_stage_words(v)} policy",
)
