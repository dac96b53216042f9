"""What the review app gives the studio below it, registered in ``ReviewsConfig.ready()``:

- the review state on the studio's variant page (``register_variant_context``),
- the comment behind a "Fix this" link (``register_fix_comment_lookup``),
- closing the open review when the studio supersedes a variant (the ``variant_superseded`` signal).

The studio never imports the review app; these are its only ways in.
"""

from __future__ import annotations

from typing import Any

from approvals.reviews import selectors
from approvals.reviews.models import Comment, ReviewStatus
from approvals.reviews.services import reviews_supersede
from studio.lib.ids import parse_id


def variant_review_context(request: Any, variant: Any) -> dict[str, Any]:
    """``open_review`` (for the "in review" banner) and ``approved_review`` (publishing starts from it).
    Two queries, whatever the variant's history."""
    return {
        "open_review": variant.reviews.filter(status=ReviewStatus.OPEN).first(),
        "approved_review": selectors.approved_review_for(variant=variant),
    }


def fix_comment_for(variant: Any, comment_id: Any) -> Comment | None:
    """The region-pinned review comment a "Fix this" link points at, or ``None``.

    Only a comment on *this* variant (so in this workspace) with a box counts; anything else (another
    variant's comment, a reply without a box, a made-up id) is ignored rather than answered with 404,
    because the link is only a convenience for pre-filling the edit form."""
    comment_pk = parse_id(comment_id)
    if comment_pk is None:
        return None
    return (
        Comment.objects.filter(
            pk=comment_pk, variant=variant, variant__workspace_id=variant.workspace_id, x__isnull=False
        )
        .select_related("author")
        .first()
    )


def on_variant_superseded(sender: Any, *, variant: Any, actor: Any, **kwargs: Any) -> None:
    """Runs inside the studio's transaction, so the review closes exactly when the new version commits."""
    reviews_supersede(actor=actor, variant=variant)
