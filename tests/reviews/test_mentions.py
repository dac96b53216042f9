"""@mentions in review comments (issue 14): the person named is told in the inbox and by email, only
members of the workspace are, and who was told is audited."""

from __future__ import annotations

import pytest
from django.core import mail

from approvals.reviews import services
from approvals.reviews.services._common import review_url
from approvals.reviews.services.mentions import mentioned_names
from studio.core.models import AuditEvent, Notification
from tests import factories as f
from tests.approvals.factories_reviews import variant_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def variant(workspace, marketer, campaign):
    return variant_for(workspace, creator=marketer, campaign=campaign)


def test_mentioned_member_gets_an_inbox_notice_and_an_email(
    variant, reviewer, marketer, workspace, django_capture_on_commit_callbacks
):
    review = services.variant_submit(actor=marketer, variant=variant)
    with django_capture_on_commit_callbacks(execute=True):
        comment = services.comment_add(actor=reviewer, variant=variant, text="@mia the logo is too small, see here")
    notice = Notification.objects.get(user=marketer, kind="comment.mentioned")
    assert notice.workspace == workspace
    assert notice.text.startswith(f"rob mentioned you on variant #{variant.pk}")
    assert "the logo is too small" in notice.text
    assert notice.url == review_url(review) + f"#comment-{comment.pk}"  # the comment on its review page
    assert [m.to for m in mail.outbox if "mentioned you" in m.body] == [[marketer.email]]
    event = AuditEvent.objects.filter(workspace=workspace, action="approvals.comment.mentioned").get()
    assert event.data["users"] == [marketer.pk]
    assert event.data["mentioned"] == "mia"
    assert event.actor == reviewer


def test_a_non_member_mention_is_ignored(variant, reviewer, workspace, django_capture_on_commit_callbacks):
    other = f.WorkspaceFactory(slug="elsewhere")
    outsider = f.UserFactory(username="olga")
    f.MembershipFactory(user=outsider, workspace=other, role="marketer")
    with django_capture_on_commit_callbacks(execute=True):
        services.comment_add(actor=reviewer, variant=variant, text="@olga and @nobody-at-all, what do you think?")
    assert not Notification.objects.filter(kind="comment.mentioned").exists()
    assert not [m for m in mail.outbox if "mentioned you" in m.body]
    # Nothing audited for a mention that told nobody: the log does not reveal who exists.
    assert not AuditEvent.objects.filter(action="approvals.comment.mentioned").exists()
    assert AuditEvent.objects.filter(workspace=workspace, action="approvals.comment.added").count() == 1


def test_members_told_once_each_and_the_author_never(
    variant, reviewer, marketer, compliance, workspace, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.comment_add(
            actor=reviewer, variant=variant, text="@MIA @mia, @rob and @cora: agreed? (mail rob@example.com)"
        )
    told = Notification.objects.filter(kind="comment.mentioned").values_list("user__username", flat=True)
    assert sorted(told) == ["cora", "mia"]
    event = AuditEvent.objects.get(action="approvals.comment.mentioned")
    assert event.data["mentioned"] == "mia, cora"


def test_mention_names_are_read_like_a_person_writes_them():
    assert mentioned_names("@mia, please; cc @rob.") == ["mia", "rob"]
    assert mentioned_names("write to ana@example.com") == []
    assert mentioned_names("no mentions here") == []
    assert mentioned_names("@ana.lee+qa!") == ["ana.lee+qa"]
