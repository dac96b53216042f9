"""Comments on one exact variant, optionally pinned to a box on the image, one level of replies."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from approvals.reviews import events
from approvals.reviews.errors import InvalidComment
from approvals.reviews.models import Comment
from approvals.reviews.services._common import MAX_COMMENT_CHARS
from approvals.reviews.services.mentions import mentions_notify
from studio.core.permissions import RoleRequired, user_roles
from studio.generation.models import Variant


def _clean_box(box: Sequence[float] | None) -> tuple[float, float, float, float] | None:
    if box is None:
        return None
    try:
        x, y, w, h = (float(v) for v in box)
    except (TypeError, ValueError) as exc:
        raise InvalidComment("The marked area is not valid; draw it again on the image.") from exc
    eps = 1e-6
    if not (0 <= x <= 1 and 0 <= y <= 1 and 0 < w <= 1 and 0 < h <= 1 and x + w <= 1 + eps and y + h <= 1 + eps):
        raise InvalidComment("The marked area must lie inside the image; draw it again.")
    return x, y, w, h


@transaction.atomic
def comment_add(
    *,
    actor,
    variant: Variant,
    text: str,
    box: tuple[float, float, float, float] | None = None,
    parent: Comment | None = None,
) -> Comment:
    """A comment on one exact variant, optionally pinned to a box in 0..1 image coordinates."""
    text = (text or "").strip()
    workspace = variant.workspace
    if not user_roles(actor, workspace):
        raise RoleRequired(f"Only members of {workspace.name} can comment here.")
    if not text:
        raise InvalidComment("Write a comment first.")
    if len(text) > MAX_COMMENT_CHARS:
        raise InvalidComment(f"Keep comments under {MAX_COMMENT_CHARS} characters.")
    clean = _clean_box(box)
    if parent is not None:
        if parent.variant_id != variant.pk:
            raise InvalidComment("You can only reply to comments on this image.")
        parent = parent if parent.parent_id is None else parent.parent  # one level of threading
    comment = Comment(variant=variant, author=actor, parent=parent, text=text)
    if clean is not None:
        comment.x, comment.y, comment.w, comment.h = clean
    comment.full_clean()
    comment.save()
    events.comment_added(comment=comment, variant=variant, actor=actor, box=clean)
    mentions_notify(comment=comment, actor=actor)  # after the comment's own event: it is what they point at
    return comment


@transaction.atomic
def comment_resolve(*, actor, comment: Comment) -> Comment:
    """Mark a comment done (idempotent: resolving a resolved comment records nothing)."""
    comment = (
        Comment.objects.select_for_update(of=("self",), no_key=True)
        .select_related("variant__workspace")
        .get(pk=comment.pk)
    )
    workspace = comment.variant.workspace
    if not user_roles(actor, workspace):
        raise RoleRequired(f"Only members of {workspace.name} can resolve comments.")
    if comment.resolved:
        return comment
    comment.resolved = True
    comment.save(update_fields=["resolved"])
    events.comment_resolved(comment=comment, actor=actor)
    return comment
