"""@mentions in review comments: who is named, and telling them (in the inbox and by email).

Only members of the comment's workspace are told; a name that is no member (or no user at all) is
ignored without saying so, so a comment cannot be used to find out who exists. The author is never told
about their own comment."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.urls import reverse

from approvals.reviews import events
from approvals.reviews.models import Comment, Review
from approvals.reviews.services._common import review_url
from studio.core.models import Membership
from studio.core.notifications import notification_send

# "@rob", "@mia.lee", "@ana+qa": Django's username characters. Not after a word character, so an
# e-mail address in the text ("ana@example.com") mentions nobody.
MENTION = re.compile(r"(?<![\w@.+-])@([\w.@+-]+)")
MAX_MENTIONS = 20  # a comment naming the whole company is a broadcast, not a mention


def mentioned_names(text: str) -> list[str]:
    """The usernames ``text`` mentions, in order, once each (trailing punctuation dropped)."""
    names: list[str] = []
    for match in MENTION.finditer(text or ""):
        name = match.group(1).rstrip(".@+-")
        if name and name.lower() not in (n.lower() for n in names):
            names.append(name)
    return names[:MAX_MENTIONS]


def mentioned_members(*, comment: Comment) -> list:
    """The workspace members ``comment`` mentions (case-insensitive usernames), author excluded."""
    names = mentioned_names(comment.text)
    if not names:
        return []
    workspace_id = comment.variant.workspace_id
    lowered = {name.lower() for name in names}
    members = (
        get_user_model()
        .objects.filter(pk__in=Membership.objects.filter(workspace_id=workspace_id).values("user_id"), is_active=True)
        .exclude(pk=comment.author_id)
    )
    by_name = {user.get_username().lower(): user for user in members if user.get_username().lower() in lowered}
    return [by_name[name.lower()] for name in names if name.lower() in by_name]


def comment_url(comment: Comment) -> str:
    """The review page of the variant's newest review (comments are shown there), else the variant page."""
    variant = comment.variant
    review = Review.objects.filter(variant=variant).select_related("workspace").order_by("-pk").first()
    url = review_url(review) if review else reverse("studio:variant", args=[variant.workspace.slug, variant.pk])
    return f"{url}#comment-{comment.pk}"


def mentions_notify(*, comment: Comment, actor) -> list:
    """Tell each mentioned member (inbox + email after commit) and audit who was told. Runs in the
    comment's transaction: the notices exist exactly when the comment does. Returns the users told."""
    users = mentioned_members(comment=comment)
    if not users:
        return []
    author = actor.get_username()
    excerpt = comment.text if len(comment.text) <= 160 else comment.text[:159] + "…"
    url = comment_url(comment)
    for user in users:
        notification_send(
            user=user,
            workspace=comment.variant.workspace,
            kind="comment.mentioned",
            text=f"{author} mentioned you on variant #{comment.variant_id}: “{excerpt}”",
            url=url,
            email=True,
        )
    events.comment_mentioned(comment=comment, actor=actor, users=users)
    return users
