"""Destinations (local files here; S3 and Azure in tests/integration/test_destinations_cloud.py): where
renditions go, their public URL, credentials by env-var name only, and a destination that is down."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage

from approvals.publishing import services
from approvals.publishing.destinations import Destination, DestinationKind
from approvals.publishing.models import Publication, PublicationStatus
from approvals.reviews import services as review_services
from approvals.reviews.models import StageKind
from studio.core.models import AuditEvent
from studio.generation.models import VariantStatus
from tests.approvals.factories_reviews import variant_for

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


def local_destination(campaign, **extra) -> Destination:
    return Destination.objects.create(
        workspace=campaign.workspace, campaign=campaign, name=extra.pop("name", "Web folder"), bucket="web", **extra
    )


def broken_s3(campaign, monkeypatch) -> Destination:
    """An S3 destination whose endpoint is a closed port on 127.0.0.1: down for the whole test."""
    monkeypatch.setenv("IMPRIMATUR_KEY_S3_ID", "test")
    monkeypatch.setenv("IMPRIMATUR_KEY_S3_SECRET", "test")
    return Destination.objects.create(
        workspace=campaign.workspace,
        campaign=campaign,
        name="Ads bucket",
        kind=DestinationKind.S3,
        bucket="ads",
        endpoint_url="http://127.0.0.1:9/",
        access_key_env="IMPRIMATUR_KEY_S3_ID",
        secret_key_env="IMPRIMATUR_KEY_S3_SECRET",
    )


def test_local_destination_writes_under_its_folder_with_the_template_url(approved, marketer, ad_format, campaign):
    destination = local_destination(campaign, prefix="spring", public_url_template="https://cdn.example.com/{key}")
    publication = services.publication_create(
        actor=marketer, variant=approved, target_format=ad_format, destination=destination
    )
    assert publication.status == PublicationStatus.PUBLISHED
    assert publication.destination == destination
    assert publication.file.name.startswith("published/web/spring/acme/")
    assert default_storage.exists(publication.file.name)
    assert publication.url == f"https://cdn.example.com/{publication.file.name}"
    event = AuditEvent.objects.filter(action="approvals.publication.created").get()
    assert event.data["url"] == publication.url


def test_publication_file_reads_from_its_destination(approved, marketer, ad_format, campaign):
    destination = local_destination(campaign)
    publication = services.publication_create(
        actor=marketer, variant=approved, target_format=ad_format, destination=destination
    )
    fresh = Publication.objects.get(pk=publication.pk)
    with fresh.file.open("rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        (
            {"kind": "s3", "bucket": "b", "access_key_env": "AWS_ID", "secret_key_env": "IMPRIMATUR_KEY_X"},
            "access_key_env",
            "not a variable set aside",
        ),
        (
            {"kind": "s3", "bucket": "b", "access_key_env": "IMPRIMATUR_KEY_A", "secret_key_env": "DJANGO_SECRET_KEY"},
            "secret_key_env",
            "signing key",
        ),
        ({"kind": "azure", "bucket": "c", "secret_key_env": "IMPRIMATUR_KEY_AZ"}, "account_name", "account"),
        (
            {"kind": "s3", "access_key_env": "IMPRIMATUR_KEY_A", "secret_key_env": "IMPRIMATUR_KEY_B"},
            "bucket",
            "bucket",
        ),
        ({"public_url_template": "https://cdn.example.com/img"}, "public_url_template", "{key}"),
        ({"bucket": "../etc"}, "bucket", "letters, digits"),
        ({"retracted_prefix": "/"}, "retracted_prefix", "prefix"),
    ],
)
def test_destination_validation(campaign, fields, field, words):
    destination = Destination(workspace=campaign.workspace, campaign=campaign, name="X", **fields)
    with pytest.raises(ValidationError) as caught:
        destination.clean()
    assert words in " ".join(caught.value.message_dict[field])


def test_https_public_template_in_production(settings, campaign):
    settings.IMPRIMATUR_ALLOW_HTTP_ENDPOINTS = False
    destination = Destination(
        workspace=campaign.workspace, campaign=campaign, name="X", public_url_template="http://cdn.example.com/{key}"
    )
    with pytest.raises(ValidationError) as caught:
        destination.clean()
    assert "https" in caught.value.message_dict["public_url_template"][0]


def test_credentials_are_never_stored(campaign, monkeypatch):
    destination = broken_s3(campaign, monkeypatch)
    stored = Destination.objects.filter(pk=destination.pk).values().get()
    assert "test" not in {v for k, v in stored.items() if k not in ("name",)}


def test_destination_down_mid_publish_leaves_a_failed_publication(approved, marketer, ad_format, campaign, monkeypatch):
    destination = broken_s3(campaign, monkeypatch)
    with pytest.raises(services.PublicationFailed) as caught:
        services.publication_create(actor=marketer, variant=approved, target_format=ad_format, destination=destination)
    assert "Ads bucket" in caught.value.message
    assert "nothing was published" in caught.value.message
    publication = Publication.objects.get()
    assert publication.status == PublicationStatus.FAILED
    assert publication.url == ""
    assert "could not be reached" in publication.failure_message
    approved.refresh_from_db()
    assert approved.status == VariantStatus.APPROVED  # not published
    actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    assert "approvals.publication.failed" in actions
    assert "approvals.publication.created" not in actions
    assert "approvals.publication.refused" not in actions


def test_missing_credentials_fail_plainly(approved, marketer, ad_format, campaign, monkeypatch):
    destination = broken_s3(campaign, monkeypatch)
    monkeypatch.delenv("IMPRIMATUR_KEY_S3_SECRET")
    with pytest.raises(services.PublicationFailed, match="IMPRIMATUR_KEY_S3_SECRET is not set"):
        services.publication_create(actor=marketer, variant=approved, target_format=ad_format, destination=destination)


def test_incomplete_upload_is_not_published(approved, marketer, ad_format, campaign, monkeypatch):
    from django.core.files.storage import FileSystemStorage

    destination = local_destination(campaign)
    monkeypatch.setattr(FileSystemStorage, "size", lambda self, name: 10)
    with pytest.raises(services.PublicationFailed, match="incomplete"):
        services.publication_create(actor=marketer, variant=approved, target_format=ad_format, destination=destination)
    assert Publication.objects.get().status == PublicationStatus.FAILED


def test_retry_after_the_destination_is_back_publishes_into_the_same_row(
    approved, marketer, ad_format, campaign, monkeypatch
):
    destination = broken_s3(campaign, monkeypatch)
    with pytest.raises(services.PublicationFailed):
        services.publication_create(actor=marketer, variant=approved, target_format=ad_format, destination=destination)
    failed = Publication.objects.get()
    working = local_destination(campaign, name="Web")
    again = services.publication_create(actor=marketer, variant=approved, target_format=ad_format, destination=working)
    assert again.pk == failed.pk
    assert again.status == PublicationStatus.PUBLISHED
    assert again.failure_message == ""
    assert again.destination == working
    approved.refresh_from_db()
    assert approved.status == VariantStatus.PUBLISHED
