"""S3 (moto's server) and Azure Blob Storage (Azurite) destinations, for real over HTTP on 127.0.0.1:
publish, public and signed URLs, retract (delete and move), and a destination that goes down.

Integration tests: ``tests/suite.py`` starts Azurite (``ensure_azurite``); moto's server comes from the
integration fixtures. Under CI a missing Azurite fails the run; elsewhere these tests skip."""

from __future__ import annotations

import os
import socket
import uuid
from urllib.parse import urlsplit

import boto3
import httpx2
import pytest
from azure.storage.blob import BlobServiceClient

from approvals.publishing import services
from approvals.publishing.destinations import Destination, DestinationKind, RetractMode
from approvals.publishing.models import Publication, PublicationStatus
from approvals.publishing.retraction import publication_retract
from approvals.reviews import services as review_services
from approvals.reviews.models import StageKind
from tests.approvals.factories_reviews import variant_for
from tests.integration.conftest import s3_server  # noqa: F401 - the moto server fixture

pytestmark = [pytest.mark.integration, pytest.mark.django_db]  # no worker: no need to flush between tests

# Azurite's well-known development account (public, documented by Microsoft; not a secret).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
AZURITE_URL = os.environ.get("IMPRIMATUR_TEST_AZURITE_URL", "http://127.0.0.1:10000/devstoreaccount1")


@pytest.fixture
def approved(workspace, marketer, reviewer, campaign):
    variant = variant_for(workspace, creator=marketer, campaign=campaign, width=1200, height=628)
    review = review_services.variant_submit(actor=marketer, variant=variant)
    review_services.review_decide(
        actor=reviewer, stage=review.stages.get(kind=StageKind.BRAND), outcome="approve", expected_sha256=variant.sha256
    )
    variant.refresh_from_db()
    return variant


@pytest.fixture
def s3_destination(s3_server, campaign, monkeypatch):  # noqa: F811
    monkeypatch.setenv("IMPRIMATUR_KEY_S3_ID", "test")
    monkeypatch.setenv("IMPRIMATUR_KEY_S3_SECRET", "test")
    bucket = f"ads-{uuid.uuid4().hex[:8]}"
    client = boto3.client(
        "s3", endpoint_url=s3_server, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    client.create_bucket(Bucket=bucket)
    destination = Destination.objects.create(
        workspace=campaign.workspace,
        campaign=campaign,
        name="Ads bucket",
        kind=DestinationKind.S3,
        bucket=bucket,
        prefix="spring",
        endpoint_url=s3_server,
        access_key_env="IMPRIMATUR_KEY_S3_ID",
        secret_key_env="IMPRIMATUR_KEY_S3_SECRET",
    )
    return destination, client


def _azurite_up() -> bool:
    parts = urlsplit(AZURITE_URL)
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((parts.hostname, parts.port or 80)) == 0


@pytest.fixture
def azure_destination(campaign, monkeypatch, settings):
    if not _azurite_up():
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"Azurite is not running at {AZURITE_URL} (tests/suite.py starts it)")
        pytest.skip(f"Azurite is not running at {AZURITE_URL}; `make test` starts it")
    settings.IMPRIMATUR_ALLOW_HTTP_ENDPOINTS = True
    monkeypatch.setenv("IMPRIMATUR_KEY_AZURITE", AZURITE_KEY)
    container = f"ads-{uuid.uuid4().hex[:8]}"
    service = BlobServiceClient(AZURITE_URL, credential={"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY})
    service.create_container(container)
    destination = Destination.objects.create(
        workspace=campaign.workspace,
        campaign=campaign,
        name="Azure ads",
        kind=DestinationKind.AZURE,
        bucket=container,
        account_name=AZURITE_ACCOUNT,
        endpoint_url=AZURITE_URL,
        secret_key_env="IMPRIMATUR_KEY_AZURITE",
        public=False,
    )
    destination.full_clean()
    yield destination, service.get_container_client(container)
    service.delete_container(container)


def _keys(client, bucket) -> set[str]:
    return {o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])}


def test_s3_publish_and_retract_delete(approved, marketer, ad_format, s3_destination):
    destination, client = s3_destination
    publication = services.publication_create(
        actor=marketer, variant=approved, target_format=ad_format, destination=destination
    )
    key = publication.file.name
    assert key.startswith("spring/acme/")
    assert key in _keys(client, destination.bucket)
    assert publication.url.startswith(destination.endpoint_url)  # public: the plain object URL
    assert "Signature" not in publication.url
    body = client.get_object(Bucket=destination.bucket, Key=key)["Body"].read()
    assert body[:4] == b"\x89PNG"
    signed = destination.signed_url_for(key)
    assert "Signature=" in signed or "X-Amz-Signature=" in signed
    assert httpx2.get(signed).content == body
    publication_retract(actor=marketer, publication=publication, reason="Wrong offer.")
    assert key not in _keys(client, destination.bucket)
    assert Publication.objects.get(pk=publication.pk).status == PublicationStatus.RETRACTED


def test_s3_retract_moves_under_the_prefix(approved, marketer, ad_format, s3_destination):
    destination, client = s3_destination
    Destination.objects.filter(pk=destination.pk).update(retract_mode=RetractMode.MOVE)
    destination.refresh_from_db()
    publication = services.publication_create(
        actor=marketer, variant=approved, target_format=ad_format, destination=destination
    )
    key = publication.file.name
    retracted = publication_retract(actor=marketer, publication=publication, reason="Paused.")
    assert _keys(client, destination.bucket) == {f"retracted/{key}"}
    assert retracted.file.name == f"retracted/{key}"


def test_s3_down_mid_publish_then_retry(approved, marketer, ad_format, s3_destination):
    destination, _client = s3_destination
    live_endpoint = destination.endpoint_url
    Destination.objects.filter(pk=destination.pk).update(endpoint_url="http://127.0.0.1:9")
    destination.refresh_from_db()
    with pytest.raises(services.PublicationFailed, match="Ads bucket"):
        services.publication_create(actor=marketer, variant=approved, target_format=ad_format, destination=destination)
    failed = Publication.objects.get()
    assert failed.status == PublicationStatus.FAILED
    Destination.objects.filter(pk=destination.pk).update(endpoint_url=live_endpoint)
    destination.refresh_from_db()
    again = services.publication_create(
        actor=marketer, variant=approved, target_format=ad_format, destination=destination
    )
    assert again.pk == failed.pk
    assert again.status == PublicationStatus.PUBLISHED


def test_azure_private_publish_signed_url_and_retract(approved, marketer, ad_format, azure_destination):
    destination, container = azure_destination
    publication = services.publication_create(
        actor=marketer, variant=approved, target_format=ad_format, destination=destination
    )
    key = publication.file.name
    assert {b.name for b in container.list_blobs()} == {key}
    assert publication.url == ""  # private container: no public address
    assert httpx2.get(f"{AZURITE_URL}/{destination.bucket}/{key}").status_code in (403, 404)
    signed = destination.signed_url_for(key)
    assert "sig=" in signed
    fetched = httpx2.get(signed)
    assert fetched.status_code == 200
    assert fetched.content[:4] == b"\x89PNG"
    publication_retract(actor=marketer, publication=publication, reason="Retired artwork.")
    assert list(container.list_blobs()) == []


def test_azure_retract_moves_under_the_prefix(approved, marketer, ad_format, azure_destination):
    destination, container = azure_destination
    Destination.objects.filter(pk=destination.pk).update(retract_mode=RetractMode.MOVE, retracted_prefix="gone/")
    destination.refresh_from_db()
    publication = services.publication_create(
        actor=marketer, variant=approved, target_format=ad_format, destination=destination
    )
    key = publication.file.name
    publication_retract(actor=marketer, publication=publication, reason="Moved.")
    assert {b.name for b in container.list_blobs()} == {f"gone/{key}"}


def test_azure_down_mid_publish(approved, marketer, ad_format, azure_destination):
    destination, container = azure_destination
    Destination.objects.filter(pk=destination.pk).update(endpoint_url="http://127.0.0.1:9/devstoreaccount1")
    destination.refresh_from_db()
    with pytest.raises(services.PublicationFailed, match="Azure ads"):
        services.publication_create(actor=marketer, variant=approved, target_format=ad_format, destination=destination)
    assert Publication.objects.get().status == PublicationStatus.FAILED
    assert list(container.list_blobs()) == []
