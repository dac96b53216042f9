"""One URL scheme: review pages under /w/<slug>/reviews/, the combined queue and the inbox at user
level, and the old /reviews/... URLs redirecting after a lookup scoped to the user."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from approvals.reviews import services
from approvals.reviews.models import Comment, Decision
from studio.core.models import Notification, Role
from studio.generation.models import VariantStatus
from studio.safety.models import SafetyVerdict
from tests import factories as f
from tests.approvals.factories_reviews import member, variant_for

pytestmark = pytest.mark.django_db


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def submit(workspace, marketer, campaign, **extra):
    return services.variant_submit(
        actor=marketer, variant=variant_for(workspace, creator=marketer, campaign=campaign, **extra)
    )


def test_new_review_urls_are_workspace_scoped(workspace, marketer, reviewer, campaign):
    review = submit(workspace, marketer, campaign)
    stage = review.stages.get()
    assert reverse("approvals:review_detail", args=[workspace.slug, review.pk]) == f"/w/acme/reviews/{review.pk}/"
    assert reverse("approvals:workspace_queue", args=[workspace.slug]) == "/w/acme/reviews/"
    assert (
        reverse("approvals:review_decide", args=[workspace.slug, review.pk, stage.pk])
        == f"/w/acme/reviews/{review.pk}/stages/{stage.pk}/decide/"
    )
    assert reverse("approvals:queue") == "/reviews/"
    assert reverse("approvals:inbox") == "/inbox/"
    # A review is only found under its own workspace, even by a member of both.
    other = f.WorkspaceFactory(slug="other")
    f.MembershipFactory(user=reviewer, workspace=other, role=Role.BRAND_REVIEWER)
    client = login(reviewer)
    assert client.get(reverse("approvals:review_detail", args=["acme", review.pk])).status_code == 200
    assert client.get(reverse("approvals:review_detail", args=["other", review.pk])).status_code == 404


def test_old_review_page_redirects_keeping_the_query_and_404s_where_the_new_one_would(
    workspace, marketer, reviewer, campaign
):
    review = submit(workspace, marketer, campaign)
    response = login(reviewer).get(f"/reviews/{review.pk}/?outcome=reject")
    assert response.status_code == 301
    assert response["Location"] == f"/w/acme/reviews/{review.pk}/?outcome=reject"
    outsider = login(member(f.WorkspaceFactory(slug="other"), "olga", Role.BRAND_REVIEWER))
    assert outsider.get(f"/reviews/{review.pk}/").status_code == 404
    assert outsider.get("/reviews/999999/").status_code == 404
    assert Client().get(f"/reviews/{review.pk}/").status_code == 302  # to the login page


def test_old_form_posts_are_repeated_at_the_new_url(workspace, marketer, reviewer, campaign):
    review = submit(workspace, marketer, campaign)
    stage = review.stages.get()
    client = login(reviewer)
    data = {"outcome": "approve", "expected_sha256": review.variant_sha256}
    moved = client.post(f"/reviews/{review.pk}/stages/{stage.pk}/decide/", data)
    assert moved.status_code == 308
    assert moved["Location"] == f"/w/acme/reviews/{review.pk}/stages/{stage.pk}/decide/"
    assert not Decision.objects.exists()  # the old URL itself changes nothing
    assert client.post(moved["Location"], data).status_code == 302
    review.variant.refresh_from_db()
    assert review.variant.status == VariantStatus.APPROVED

    comment_moved = client.post(f"/reviews/{review.pk}/comments/", {"text": "Nice"})
    assert comment_moved["Location"] == f"/w/acme/reviews/{review.pk}/comments/"
    client.post(comment_moved["Location"], {"text": "Nice"})
    comment = Comment.objects.get()
    resolve_moved = client.post(f"/reviews/comments/{comment.pk}/resolve/")
    assert (resolve_moved.status_code, resolve_moved["Location"]) == (
        308,
        f"/w/acme/reviews/comments/{comment.pk}/resolve/",
    )

    variant = variant_for(workspace, creator=marketer, campaign=campaign)
    submit_moved = login(marketer).post(f"/reviews/submit/{variant.pk}/")
    assert (submit_moved.status_code, submit_moved["Location"]) == (308, f"/w/acme/reviews/submit/{variant.pk}/")
    blocked = variant_for(
        workspace, creator=marketer, campaign=campaign, status=VariantStatus.BLOCKED, verdict=SafetyVerdict.BLOCK
    )
    override_moved = login(marketer).post(f"/reviews/override/{blocked.pk}/", {"reason": "x"})
    assert override_moved["Location"] == f"/w/acme/reviews/override/{blocked.pk}/"
    outsider = login(member(f.WorkspaceFactory(slug="other"), "olga", Role.MARKETER))
    assert outsider.post(f"/reviews/submit/{variant.pk}/").status_code == 404


def test_old_inbox_redirects_to_the_user_level_inbox(reviewer):
    client = login(reviewer)
    response = client.get("/reviews/inbox/")
    assert (response.status_code, response["Location"]) == (301, "/inbox/")
    read = client.post("/reviews/inbox/read/")
    assert (read.status_code, read["Location"]) == (308, "/inbox/read/")
    assert client.get("/inbox/").status_code == 200


def test_workspace_queue_shows_only_that_workspace_and_bulk_approves_there(workspace, marketer, reviewer, campaign):
    here = submit(workspace, marketer, campaign)
    other = f.WorkspaceFactory(slug="other", name="Other")
    f.MembershipFactory(user=reviewer, workspace=other, role=Role.BRAND_REVIEWER)
    other_marketer = member(other, "otto", Role.MARKETER)
    there = submit(other, other_marketer, f.CampaignFactory(workspace=other))
    client = login(reviewer)
    combined = client.get(reverse("approvals:queue")).content.decode()
    assert f"stage-{here.stages.get().pk}" in combined
    assert f"stage-{there.stages.get().pk}" in combined
    scoped = client.get(reverse("approvals:workspace_queue", args=["acme"])).content.decode()
    assert f"stage-{here.stages.get().pk}" in scoped
    assert f"stage-{there.stages.get().pk}" not in scoped
    assert 'name="workspace"' not in scoped  # the URL chose the workspace
    assert 'action="/w/acme/reviews/bulk-approve/"' in scoped
    items = [f"{s.stages.get().pk}:{s.variant_sha256}" for s in (here, there)]
    response = client.post(
        reverse("approvals:workspace_bulk_approve", args=["acme"]), {"items": items}, HTTP_HX_REQUEST="true"
    )
    assert "Approved 1 of 2 selected" in response.content.decode()  # the other workspace's item: not found
    outsider = login(member(f.WorkspaceFactory(slug="third"), "olga", Role.BRAND_REVIEWER))
    assert outsider.get(reverse("approvals:workspace_queue", args=["acme"])).status_code == 404


def test_notifications_link_to_the_workspace_review_page(workspace, marketer, reviewer, campaign):
    review = submit(workspace, marketer, campaign)
    notice = Notification.objects.get(user=reviewer, kind="review.assigned")
    assert notice.url == f"/w/acme/reviews/{review.pk}/"
