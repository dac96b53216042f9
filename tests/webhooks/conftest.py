"""Webhook fixtures: a local receiver on 127.0.0.1, an endpoint pointed at it, an approved variant."""

from __future__ import annotations

import pytest

from approvals.reviews import services as review_services
from approvals.reviews.models import StageKind
from approvals.webhooks import services
from tests.approvals.factories_reviews import variant_for
from tests.webhooks.receiver import start_receiver


@pytest.fixture
def receiver():
    receiver, server = start_receiver()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def endpoint_with_secret(ws_admin, workspace, receiver):
    endpoint, secret = services.endpoint_create(
        actor=ws_admin,
        workspace=workspace,
        url=receiver.url,
        event_types=["publication.created", "publication.retracted", "review.decided"],
    )
    return endpoint, secret


@pytest.fixture
def approved(workspace, marketer, reviewer, campaign):
    """An approved variant composed for the 1200x628 ad format."""
    variant = variant_for(workspace, creator=marketer, campaign=campaign, width=1200, height=628)
    review = review_services.variant_submit(actor=marketer, variant=variant)
    review_services.review_decide(
        actor=reviewer, stage=review.stages.get(kind=StageKind.BRAND), outcome="approve", expected_sha256=variant.sha256
    )
    variant.refresh_from_db()
    return variant
