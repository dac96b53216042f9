"""Retract: the object leaves its destination (deleted or moved), the publication is marked retracted,
the audit records it and the webhook fires; publishing again needs a new decision when the approval was
withdrawn."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage
from standardwebhooks.webhooks import Webhook

from approvals.publishing import services
from approvals.publishing.destinations import Destination, RetractMode
from approvals.publishing.errors import NotRetractable, PublicationFailed
from approvals.publishing.models import Publication, PublicationStatus
from approvals.publishing.retraction import publication_retract
from approvals.reviews import services as review_services
from approvals.reviews.models import ReviewStatus, StageKind
from approvals.webhooks import services as webhooks
from studio.core.models import AuditEvent
from studio.core.permissions import RoleRequired
from tests.approvals.factories_reviews import member, variant_for
from tests.webhooks.receiver import start_receiver

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


@pytest.fixture
def receiver():
    receiver, server = start_receiver()
    yield receiver
    server.shutdown()
    server.server_close()


def _destination(campaign, mode) -> Destination:
    return Destination.objects.create(
        workspace=campaign.workspace, campaign=campaign, name="Web", bucket="web", retract_mode=mode
    )


def test_retract_deletes_from_the_destination(approved, marketer, ad_format, campaign):
    destination = _destination(campaign, RetractMode.DELETE)
    publication = services.publication_create(
        actor=marketer, variant=approved, target_format=ad_format, destination=destination
    )
    key = publication.file.name
    retracted = publication_retract(actor=marketer, publication=publication, reason="Wrong price in the copy.")
    assert retracted.status == PublicationStatus.RETRACTED
    assert retracted.retraction_reason == "Wrong price in the copy."
    assert retracted.retracted_by == marketer
    assert not default_storage.exists(key)
    event = AuditEvent.objects.filter(action="approvals.publication.retracted").get()
    assert event.data["removal"] == "deleted"
    assert event.data["reason"] == "Wrong price in the copy."
    assert event.data["approval_withdrawn"] is False


def test_retract_moves_under_the_retracted_prefix(approved, marketer, ad_format, campaign):
    destination = _destination(campaign, RetractMode.MOVE)
    publication = services.publication_create(
        actor=marketer, variant=approved, target_format=ad_format, destination=destination
    )
    key = publication.file.name
    retracted = publication_retract(actor=marketer, publication=publication, reason="Campaign paused.")
    assert not default_storage.exists(key)
    assert retracted.file.name == f"retracted/{key}"
    assert default_storage.exists(retracted.file.name)
    assert not retracted.file.name.startswith("published/")  # the public media route serves published/ only


def test_studio_storage_keeps_retracted_files_out_of_the_public_folder(approved, marketer, ad_format):
    publication = services.publication_create(actor=marketer, variant=approved, target_format=ad_format)
    key = publication.file.name
    retracted = publication_retract(actor=marketer, publication=publication, reason="Legal asked.")
    assert not default_storage.exists(key)
    assert default_storage.exists(retracted.file.name)
    assert retracted.file.name.startswith("retracted/published/")


def test_retract_fires_the_webhook(
    django_capture_on_commit_callbacks, approved, marketer, ws_admin, workspace, ad_format, receiver
):
    _, secret = webhooks.endpoint_create(
        actor=ws_admin, workspace=workspace, url=receiver.url, event_types=["publication.retracted"]
    )
    publication = services.publication_create(actor=marketer, variant=approved, target_format=ad_format)
    with django_capture_on_commit_callbacks(execute=True):
        publication_retract(actor=marketer, publication=publication, reason="Recalled product.")
    [request] = receiver.wait_for(1)
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload["type"] == "publication.retracted"
    assert payload["data"]["reason"] == "Recalled product."
    assert payload["data"]["subject"]["id"] == str(publication.pk)


def test_retract_needs_a_reason_a_role_and_a_live_publication(approved, marketer, ad_format, workspace):
    publication = services.publication_create(actor=marketer, variant=approved, target_format=ad_format)
    with pytest.raises(NotRetractable, match="Say why"):
        publication_retract(actor=marketer, publication=publication, reason="  ")
    compliance_only = member(workspace, "carl", role="compliance")
    with pytest.raises(RoleRequired):
        publication_retract(actor=compliance_only, publication=publication, reason="No.")
    publication_retract(actor=marketer, publication=publication, reason="Done.")
    with pytest.raises(NotRetractable, match="already"):
        publication_retract(actor=marketer, publication=Publication.objects.get(pk=publication.pk), reason="Again.")
    assert AuditEvent.objects.filter(action="approvals.publication.retracted").count() == 1


def test_destination_down_during_retract_changes_nothing(approved, marketer, ad_format, campaign, monkeypatch):
    from django.core.files.storage import FileSystemStorage

    destination = _destination(campaign, RetractMode.DELETE)
    publication = services.publication_create(
        actor=marketer, variant=approved, target_format=ad_format, destination=destination
    )

    def down(self, name):
        raise ConnectionError("refused")

    monkeypatch.setattr(FileSystemStorage, "delete", down)
    with pytest.raises(PublicationFailed, match="still live"):
        publication_retract(actor=marketer, publication=publication, reason="Oops.")
    assert Publication.objects.get(pk=publication.pk).status == PublicationStatus.PUBLISHED
    assert not AuditEvent.objects.filter(action="approvals.publication.retracted").exists()


def test_publishing_again_after_a_retract_makes_a_new_publication(approved, marketer, ad_format):
    first = services.publication_create(actor=marketer, variant=approved, target_format=ad_format)
    publication_retract(actor=marketer, publication=first, reason="Replace the file.")
    second = services.publication_create(actor=marketer, variant=approved, target_format=ad_format)
    assert second.pk != first.pk
    assert second.status == PublicationStatus.PUBLISHED
    assert Publication.objects.get(pk=first.pk).status == PublicationStatus.RETRACTED


def test_withdrawn_approval_needs_a_new_decision(approved, marketer, ad_format, campaign):
    from tests import factories as f

    publication = services.publication_create(actor=marketer, variant=approved, target_format=ad_format)
    publication_retract(actor=marketer, publication=publication, reason="Claims not approved.", withdraw_approval=True)
    publication.review.refresh_from_db()
    assert publication.review.status == ReviewStatus.WITHDRAWN
    square = f.CampaignFormatFactory(campaign=campaign, name="Wide", width=1200, height=628)
    for target in (ad_format, square):
        with pytest.raises(services.NotPublishable, match="new review decision"):
            services.publication_create(actor=marketer, variant=approved, target_format=target)
    event = AuditEvent.objects.filter(action="approvals.publication.retracted").get()
    assert event.data["approval_withdrawn"] is True
