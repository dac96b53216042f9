"""Publishing pages: publish from a review, follow the render, the publication page; 404 across
workspaces; the old ``/reviews/publications/...`` URLs redirect."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from approvals.publishing.models import Publication
from approvals.reviews import services
from studio.core.models import Role
from tests import factories as f
from tests.approvals.factories_reviews import member, variant_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def login():
    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make


def submit(workspace, marketer, campaign, **extra):
    variant = variant_for(workspace, creator=marketer, campaign=campaign, **extra)
    return services.variant_submit(actor=marketer, variant=variant)


def test_publish_flow_and_publication_page(
    login, workspace, marketer, reviewer, campaign, ad_format, django_capture_on_commit_callbacks
):
    review = submit(workspace, marketer, campaign, width=608, height=318)
    services.review_decide(
        actor=reviewer, stage=review.stages.get(), outcome="approve", expected_sha256=review.variant_sha256
    )
    client = login(marketer)
    detail = client.get(reverse("approvals:review_detail", args=[workspace.slug, review.pk])).content.decode()
    assert "Publish at exact size" in detail
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("publishing:publish", args=[workspace.slug, review.pk]), {"target_format": ad_format.pk}
        )
    assert response.status_code == 302
    progress = client.get(response["Location"])  # eager Celery in tests: already rendered
    assert progress.status_code == 302
    publication = Publication.objects.get()
    assert progress["Location"] == reverse("publishing:publication_detail", args=[workspace.slug, publication.pk])
    page = client.get(progress["Location"]).content.decode()
    assert "1200×628" in page
    assert publication.sha256 in page
    assert publication.file.name in page  # the storage URL, in a copy-friendly field
    outsider = member(f.WorkspaceFactory(slug="other"), "olga", Role.MARKETER)
    assert login(outsider).get(progress["Location"]).status_code == 404


def test_publish_refusal_is_a_message(login, workspace, marketer, reviewer, campaign, ad_format):
    review = submit(workspace, marketer, campaign)
    response = login(marketer).post(
        reverse("publishing:publish", args=[workspace.slug, review.pk]), {"target_format": ad_format.pk}, follow=True
    )
    assert response.status_code == 200
    assert "Only approved images can be published" in response.content.decode()
    assert not Publication.objects.exists()


def test_old_publication_urls_redirect_after_a_user_scoped_lookup(
    login, workspace, marketer, reviewer, campaign, ad_format, django_capture_on_commit_callbacks
):
    review = submit(workspace, marketer, campaign, width=608, height=318)
    services.review_decide(
        actor=reviewer, stage=review.stages.get(), outcome="approve", expected_sha256=review.variant_sha256
    )
    client = login(marketer)
    old_publish = reverse("publishing:legacy_publish", args=[review.pk])
    assert old_publish == f"/reviews/{review.pk}/publish/"
    moved = client.post(old_publish, {"target_format": ad_format.pk})
    assert moved.status_code == 308  # the browser repeats the POST at the new address
    assert moved["Location"] == reverse("publishing:publish", args=[workspace.slug, review.pk])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(moved["Location"], {"target_format": ad_format.pk})
    publication = Publication.objects.get()
    new_detail = reverse("publishing:publication_detail", args=[workspace.slug, publication.pk])
    old_detail = client.get(f"/reviews/publications/{publication.pk}/")
    assert (old_detail.status_code, old_detail["Location"]) == (301, new_detail)
    old_progress = client.get(f"/reviews/publish/{review.variant_id}/{ad_format.pk}/")
    assert old_progress.status_code == 301
    assert old_progress["Location"] == reverse(
        "publishing:publication_progress", args=[workspace.slug, review.variant_id, ad_format.pk]
    )
    outsider = login(member(f.WorkspaceFactory(slug="other"), "olga", Role.MARKETER))
    assert outsider.get(f"/reviews/publications/{publication.pk}/").status_code == 404
    assert outsider.get(reverse("publishing:publication_detail", args=["other", publication.pk])).status_code == 404
