"""Publishing through the API: a broker that is down still answers 202 with the render waiting in the outbox
(issue 10), and a retracted publication's file is 404 for keys whatever the destination did with the
object (issue 13), while members keep the authorised view on the site."""

from __future__ import annotations

from unittest import mock

import pytest
from django.test import Client
from django.urls import reverse
from kombu.exceptions import OperationalError as KombuOperationalError

from approvals.publishing import services as publishing
from approvals.publishing.destinations import Destination, RetractMode
from approvals.publishing.models import Publication
from approvals.publishing.retraction import publication_retract
from approvals.publishing.starting import RENDER_TASK
from approvals.reviews import services as review_services
from approvals.reviews.models import StageKind
from studio.core.outbox import services as outbox_services
from studio.core.outbox.models import OutboxMessage
from tests import factories as f
from tests.approvals.factories_reviews import variant_for

pytestmark = pytest.mark.django_db


def approved(workspace, marketer, reviewer, campaign):
    variant = variant_for(workspace, creator=marketer, campaign=campaign)
    review = review_services.variant_submit(actor=marketer, variant=variant)
    review_services.review_decide(
        actor=reviewer, stage=review.stages.get(kind=StageKind.BRAND), outcome="approve", expected_sha256=variant.sha256
    )
    variant.refresh_from_db()
    return variant


@pytest.mark.parametrize("mode", [None, RetractMode.MOVE])
def test_a_retracted_publications_file_is_404_through_the_api(api_for, workspace, marketer, reviewer, campaign, mode):
    fmt = f.CampaignFormatFactory(campaign=campaign, width=32, height=24)
    variant = approved(workspace, marketer, reviewer, campaign)
    destination = None
    if mode is not None:
        destination = Destination.objects.create(
            workspace=workspace, campaign=campaign, name="Web", bucket="web", retract_mode=mode
        )
    publication = publishing.publication_create(
        actor=marketer, variant=variant, target_format=fmt, destination=destination
    )
    api = api_for(marketer, workspace, ["read"])
    path = f"/api/v1/publications/{publication.pk}/file"
    assert api.get(path).status_code == 200
    publication_retract(actor=marketer, publication=publication, reason="Wrong price.")
    assert api.get(path).status_code == 404
    assert api.get(f"/api/v1/publications/{publication.pk}/").json()["status"] == "retracted"  # the row stays
    # Members keep the authorised view on the site (the object was moved, not deleted).
    site = Client()
    site.force_login(marketer)
    assert site.get(reverse("publishing:publication_file", args=["acme", publication.pk])).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_publishing_with_the_broker_down_is_accepted_and_the_render_waits_in_the_outbox(
    api_for, workspace, marketer, reviewer, campaign
):
    fmt = f.CampaignFormatFactory(campaign=campaign, width=32, height=24)
    variant = approved(workspace, marketer, reviewer, campaign)
    down = KombuOperationalError("Error 111 connecting to redis://127.0.0.1:6379/3. Connection refused.")
    with mock.patch.object(outbox_services, "task_send", side_effect=down):
        response = api_for(marketer, workspace).post(
            "/api/v1/publications/", {"variant": variant.pk, "target_format": fmt.pk}
        )
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "queued"
    row = OutboxMessage.objects.get(task_name=RENDER_TASK)
    assert row.args == [variant.pk, fmt.pk, marketer.pk]
    assert row.published_at is None  # the sweeper re-sends it when the broker is back
    assert not Publication.objects.exists()
