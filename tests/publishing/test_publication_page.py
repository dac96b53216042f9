"""The publication page: Copy and Open for the URL, the Retract form, Retry after a failure, the
authorised file view, and the workspace wall (other workspaces' publications are 404)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from approvals.publishing import services
from approvals.publishing.destinations import Destination, DestinationKind
from approvals.publishing.models import Publication, PublicationStatus
from approvals.reviews import services as review_services
from approvals.reviews.models import StageKind
from studio.core.models import Role
from tests import factories as f
from tests.approvals.factories_reviews import member, variant_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved(workspace, marketer, reviewer, campaign):
    variant = variant_for(workspace, creator=marketer, campaign=campaign, width=1200, height=628)
    review = review_services.variant_submit(actor=marketer, variant=variant)
    review_services.review_decide(
        actor=reviewer, stage=review.stages.get(kind=StageKind.BRAND), outcome="approve", expected_sha256=variant.sha256
    )
    variant.refresh_from_db()
    return variant


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def detail_url(publication) -> str:
    return reverse("publishing:publication_detail", args=[publication.workspace.slug, publication.pk])


def test_page_offers_copy_open_and_retract(approved, marketer, ad_format, campaign):
    destination = Destination.objects.create(
        workspace=campaign.workspace,
        campaign=campaign,
        name="CDN",
        bucket="cdn",
        public_url_template="https://cdn.example.com/{key}",
    )
    publication = services.publication_create(
        actor=marketer, variant=approved, target_format=ad_format, destination=destination
    )
    page = client_for(marketer).get(detail_url(publication)).content.decode()
    assert f'value="{publication.url}"' in page
    assert 'data-copy-target="#publication-url"' in page
    assert f'href="{publication.url}" target="_blank" rel="noopener noreferrer">Open' in page
    assert "Retract publication" in page
    assert reverse("publishing:publication_file", args=["acme", publication.pk]) in page


def test_retract_from_the_page(approved, marketer, ad_format):
    publication = services.publication_create(actor=marketer, variant=approved, target_format=ad_format)
    client = client_for(marketer)
    url = reverse("publishing:publication_retract", args=["acme", publication.pk])
    refused = client.post(url, {"reason": ""})
    assert refused.status_code == 422
    assert "This field is required" in refused.content.decode()
    done = client.post(url, {"reason": "Wrong logo.", "withdraw_approval": "on"})
    assert done.status_code == 302
    page = client.get(detail_url(publication)).content.decode()
    assert "Retracted" in page
    assert "Wrong logo." in page
    assert "needs a new review decision" in page
    assert "Retract publication" not in page
    publication.refresh_from_db()
    assert publication.status == PublicationStatus.RETRACTED


def test_reviewer_without_publish_role_sees_no_retract_form(approved, marketer, ad_format, workspace):
    publication = services.publication_create(actor=marketer, variant=approved, target_format=ad_format)
    auditor = member(workspace, "cleo", Role.COMPLIANCE)
    page = client_for(auditor).get(detail_url(publication)).content.decode()
    assert "Retract publication" not in page
    response = client_for(auditor).post(
        reverse("publishing:publication_retract", args=["acme", publication.pk]), {"reason": "x"}
    )
    assert response.status_code == 403
    assert "Only a marketer" in response.content.decode()


def test_failed_publication_shows_the_message_and_retry(
    approved, marketer, ad_format, campaign, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setenv("IMPRIMATUR_KEY_S3_ID", "test")
    monkeypatch.setenv("IMPRIMATUR_KEY_S3_SECRET", "test")
    destination = Destination.objects.create(
        workspace=campaign.workspace,
        campaign=campaign,
        name="Ads bucket",
        kind=DestinationKind.S3,
        bucket="ads",
        endpoint_url="http://127.0.0.1:9/",
        access_key_env="IMPRIMATUR_KEY_S3_ID",
        secret_key_env="IMPRIMATUR_KEY_S3_SECRET",
    )
    client = client_for(marketer)
    review = approved.reviews.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("publishing:publish", args=["acme", review.pk]),
            {"target_format": ad_format.pk, "destination": destination.pk},
        )
    progress = client.get(response["Location"])
    publication = Publication.objects.get()
    assert progress["Location"] == detail_url(publication)
    page = client.get(detail_url(publication)).content.decode()
    assert "Publishing failed." in page
    assert "Ads bucket" in page
    assert ">Retry<" in page
    assert "Retract publication" not in page
    # the bucket is back (here: the destination now points at local files) and the retry publishes
    Destination.objects.filter(pk=destination.pk).update(kind=DestinationKind.LOCAL, bucket="ads")
    with django_capture_on_commit_callbacks(execute=True):
        retry = client.post(reverse("publishing:publication_retry", args=["acme", publication.pk]))
    assert retry.status_code == 302
    assert client.get(retry["Location"])["Location"] == detail_url(publication)
    publication.refresh_from_db()
    assert publication.status == PublicationStatus.PUBLISHED
    assert "Publishing failed." not in client.get(detail_url(publication)).content.decode()


def test_file_view_streams_for_members_only(approved, marketer, ad_format):
    publication = services.publication_create(actor=marketer, variant=approved, target_format=ad_format)
    url = reverse("publishing:publication_file", args=["acme", publication.pk])
    response = client_for(marketer).get(url)
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("private")
    assert b"".join(response.streaming_content)[:4] == b"\x89PNG"
    assert Client().get(url).status_code == 302  # to the login page


def test_workspace_wall(approved, marketer, ad_format):
    publication = services.publication_create(actor=marketer, variant=approved, target_format=ad_format)
    outsider = member(f.WorkspaceFactory(slug="other"), "olga", Role.ADMIN)
    client = client_for(outsider)
    for name in ("publication_detail", "publication_file"):
        assert client.get(reverse(f"publishing:{name}", args=["acme", publication.pk])).status_code == 404
        assert client.get(reverse(f"publishing:{name}", args=["other", publication.pk])).status_code == 404
    for name in ("publication_retract", "publication_retry"):
        response = client.post(reverse(f"publishing:{name}", args=["other", publication.pk]), {"reason": "x"})
        assert response.status_code == 404
    assert Publication.objects.get(pk=publication.pk).status == PublicationStatus.PUBLISHED


def test_page_queries_are_constant(approved, marketer, ad_format, django_assert_max_num_queries):
    publication = services.publication_create(actor=marketer, variant=approved, target_format=ad_format)
    client = client_for(marketer)
    with django_assert_max_num_queries(20):
        assert client.get(detail_url(publication)).status_code == 200
