"""Publishing: exact pixels, bound to the approved content, idempotent, audited with the URL."""

from __future__ import annotations

import hashlib
import logging
from unittest import mock

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from approvals.publishing import destination_writes, services
from approvals.publishing.errors import NotPublishable
from approvals.publishing.models import Publication
from approvals.reviews import services as review_services
from approvals.reviews.models import Review, ReviewStatus, StageKind
from studio.core.models import AuditEvent
from studio.core.permissions import RoleRequired
from studio.generation.models import VariantStatus
from tests import factories as f
from tests.approvals.factories_reviews import variant_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved(workspace, marketer, reviewer, campaign):
    # Composed for the ad's shape (1.91:1): a rendition only trims within the aspect tolerance.
    variant = variant_for(workspace, creator=marketer, campaign=campaign, width=608, height=318)
    review = review_services.variant_submit(actor=marketer, variant=variant)
    review_services.review_decide(
        actor=reviewer, stage=review.stages.get(kind=StageKind.BRAND), outcome="approve", expected_sha256=variant.sha256
    )
    variant.refresh_from_db()
    return variant


def test_publication_at_exact_size(approved, marketer, ad_format, workspace):
    publication = services.publication_create(actor=marketer, variant=approved, target_format=ad_format)
    with default_storage.open(publication.file.name, "rb") as handle:
        data = handle.read()
    with Image.open(default_storage.open(publication.file.name, "rb")) as image:
        assert image.size == (1200, 628)
    assert publication.sha256 == hashlib.sha256(data).hexdigest()
    assert publication.source_sha256 == approved.sha256
    approved.refresh_from_db()
    assert approved.status == VariantStatus.PUBLISHED
    event = AuditEvent.objects.filter(workspace=workspace).order_by("-seq").first()
    assert event.action == "approvals.publication.created"
    assert event.data["url"] == default_storage.url(publication.file.name)
    assert event.data["size"] == "1200x628"


def test_publication_is_idempotent_per_format(approved, marketer, ad_format, campaign):
    first = services.publication_create(actor=marketer, variant=approved, target_format=ad_format)
    again = services.publication_create(actor=marketer, variant=approved, target_format=ad_format)
    assert first.pk == again.pk
    small = f.CampaignFormatFactory(campaign=campaign, name="Small ad", width=600, height=314)
    other = services.publication_create(actor=marketer, variant=approved, target_format=small)
    assert (other.width, other.height) == (600, 314)
    assert Publication.objects.count() == 2


def test_unapproved_variant_cannot_be_published(workspace, marketer, campaign, ad_format):
    variant = variant_for(workspace, creator=marketer, campaign=campaign)
    with pytest.raises(services.NotPublishable, match="Only approved"):
        services.publication_create(actor=marketer, variant=variant, target_format=ad_format)


def test_content_changed_after_approval_cannot_be_published(approved, marketer, ad_format):
    type(approved).objects.filter(pk=approved.pk).update(sha256="f" * 64)
    approved.refresh_from_db()
    with pytest.raises(services.NotPublishable, match="changed after it was approved"):
        services.publication_create(actor=marketer, variant=approved, target_format=ad_format)
    assert not Publication.objects.exists()


def test_format_of_another_campaign_refused(approved, marketer, workspace):
    other = f.CampaignFormatFactory(campaign=f.CampaignFactory(workspace=workspace))
    with pytest.raises(services.NotPublishable, match="campaign"):
        services.publication_create(actor=marketer, variant=approved, target_format=other)


def test_compliance_auditors_do_not_publish(approved, compliance, ad_format):
    with pytest.raises(RoleRequired):
        services.publication_create(actor=compliance, variant=approved, target_format=ad_format)


def _withdraw_during_upload(monkeypatch, *, fail_delete=False):
    """``rendition_store`` as the worker sees it when the approval is withdrawn while the object uploads;
    returns the keys it wrote."""
    real = services.rendition_store
    written = []

    def store(*, destination, name, data):
        key, url = real(destination=destination, name=name, data=data)
        written.append(key)
        Review.objects.filter(status=ReviewStatus.APPROVED).update(status=ReviewStatus.WITHDRAWN)
        if fail_delete:  # and the storage goes down right after the upload
            broken = mock.Mock(delete=mock.Mock(side_effect=OSError("storage is down")))
            monkeypatch.setattr(destination_writes, "publication_storage", lambda destination: broken)
        return key, url

    monkeypatch.setattr(services, "rendition_store", store)
    return written


def test_an_upload_refused_under_the_lock_is_deleted_so_nothing_stays_public(
    approved, marketer, ad_format, monkeypatch, caplog
):
    written = _withdraw_during_upload(monkeypatch)
    with (
        caplog.at_level(logging.INFO, logger="approvals.publishing.destination_writes"),
        pytest.raises(NotPublishable, match="withdrawn"),
    ):
        services.publication_create(actor=marketer, variant=approved, target_format=ad_format)
    assert len(written) == 1
    assert not default_storage.exists(written[0])  # no object at a public URL without a publication row
    assert not Publication.objects.exists()
    assert AuditEvent.objects.filter(action="approvals.publication.refused").exists()
    assert written[0] in caplog.text


def test_a_failed_delete_of_the_refused_upload_is_logged_and_the_refusal_still_reaches_the_person(
    approved, marketer, ad_format, monkeypatch, caplog
):
    written = _withdraw_during_upload(monkeypatch, fail_delete=True)
    with (
        caplog.at_level(logging.WARNING, logger="approvals.publishing.destination_writes"),
        pytest.raises(NotPublishable),
    ):
        services.publication_create(actor=marketer, variant=approved, target_format=ad_format)
    assert f"Could not delete {written[0]}" in caplog.text
