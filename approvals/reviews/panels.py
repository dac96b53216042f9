"""The review's feedback on the studio's variant page (issue 14): where marketers work, not only in
the inbox. Registered with ``studio.generation.extensions.register_variant_context`` in
``ReviewsConfig.ready()``; the page includes ``approvals/partials/variant_feedback.html`` when
``review_feedback`` is set.

Gives the variant's latest review (its state and link), every decision with its reason, and the
comments on this exact image with their pins (drawn on the image) and a "Fix this" link for pinned
ones. A constant number of queries whatever the history: review, stages+decisions, comments+replies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone

from approvals.reviews import selectors
from approvals.reviews.models import ApprovalRule, Comment, Decision, Review, ReviewStage, ReviewStatus
from approvals.reviews.services._common import sla_due
from approvals.reviews.services.submission import submit_choices
from studio.core.models import Role
from studio.core.permissions import has_role
from studio.generation.models import VariantStatus
from studio.lib.ids import parse_id

# What each state asks of the marketer, in a sentence.
NEXT_STEP = {
    ReviewStatus.OPEN: "Waiting for the reviewers' decision.",
    ReviewStatus.APPROVED: "Approved: ready to publish.",
    ReviewStatus.CHANGES_REQUESTED: "The reviewers asked for changes: make an edited version and submit that.",
    ReviewStatus.REJECTED: "Rejected: make a new version if the idea is worth another try.",
    ReviewStatus.SUPERSEDED: "A newer version replaced this image; its review continues there.",
    ReviewStatus.WITHDRAWN: "The review was withdrawn.",
}


@dataclass
class Feedback:
    review: Review
    url: str
    next_step: str
    decisions: list[Decision] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    pins: list[Comment] = field(default_factory=list)
    can_fix: bool = False

    @property
    def needs_changes(self) -> bool:
        return self.review.status in (ReviewStatus.CHANGES_REQUESTED, ReviewStatus.REJECTED)


def submit_options(request: Any, variant: Any) -> dict[str, Any]:
    """What the "Submit for review" form offers: the brand reviewers a submitter may name (only when
    any one approver suffices) and the latest due date the workspace allows."""
    user = getattr(request, "user", None)
    if variant.status != VariantStatus.READY or user is None or not has_role(user, variant.workspace, Role.MARKETER):
        return {"submit_reviewers": [], "submit_latest_due": None}
    rule, eligible = submit_choices(workspace=variant.workspace, variant=variant, actor=user)
    reviewers = list(get_user_model().objects.filter(pk__in=eligible).order_by("first_name", "username"))
    return {
        "submit_reviewers": reviewers if rule == ApprovalRule.ANY else [],
        "submit_latest_due": sla_due(variant.workspace, timezone.now()),
    }


def variant_feedback(request: Any, variant: Any) -> dict[str, Any]:
    """``review_feedback``: the latest review's feedback on ``variant``, or ``None`` if never reviewed."""
    stages = ReviewStage.objects.order_by("order").prefetch_related(
        Prefetch("decisions", queryset=Decision.objects.select_related("reviewer").order_by("created_at", "pk"))
    )
    review = (
        variant.reviews.select_related("workspace")
        .prefetch_related(Prefetch("stages", queryset=stages))
        .order_by("-submitted_at", "-pk")
        .first()
    )
    if review is None:
        return {"review_feedback": None, "fix_note": None}
    comments = selectors.comments_for(variant=variant)
    decisions = [d for stage in review.stages.all() for d in stage.decisions.all()]
    pins = [c for c in comments if c.x is not None]
    for number, pin in enumerate(pins, start=1):
        pin.pin_number = number  # as drawn on the image
    user = getattr(request, "user", None)
    note_id = parse_id(getattr(request, "GET", {}).get("fix_note", ""))
    fix_note = next((d for d in decisions if note_id is not None and d.pk == note_id and d.note), None)
    feedback = Feedback(
        review=review,
        url=reverse("approvals:review_detail", kwargs={"slug": review.workspace.slug, "pk": review.pk}),
        next_step=NEXT_STEP.get(review.status, ""),
        decisions=decisions,
        comments=comments,
        pins=pins,
        can_fix=bool(user and has_role(user, review.workspace, Role.MARKETER)),
    )
    # "Fix this" on a decision's reason: the studio pre-fills the edit's instruction with it.
    return {"review_feedback": feedback, "fix_note": fix_note if feedback.can_fix else None}
