"""A refused publish leaves a trace: ``approvals.publication.refused`` on the variant, with the reason,
whether the page's check or the worker's refused it."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from approvals.publishing import services
from approvals.publishing.models import Publication
from approvals.reviews import services as review_services
from studio.core.audit import audit_verify
from studio.core.events import registry
from studio.core.models import AuditEvent
from studio.core.permissions import RoleRequired
from tests.approvals.factories_reviews import variant_for

pytestmark = pytest.mark.django_db


def last_event(workspace) -> AuditEvent:
    return AuditEvent.objects.filter(workspace=workspace).order_by("-seq").first()


def test_refused_publish_is_audited_on_the_variant(workspace, marketer, campaign, ad_format):
    variant = variant_for(workspace, creator=marketer, campaign=campaign)
    with pytest.raises(services.NotPublishable):
        services.publication_create(actor=marketer, variant=variant, target_format=ad_format)
    event = last_event(workspace)
    assert event.action == "approvals.publication.refused"
    assert event.subject_type == "studio.variant"
    assert event.subject_id == str(variant.pk)
    assert event.data == {
        "variant": variant.pk,
        "format": ad_format.name,
        "format_id": ad_format.pk,
        "outcome": "refused",
        "code": "not_publishable",
        "reason": "Only approved images can be published.",
    }
    assert not Publication.objects.exists()
    assert audit_verify(workspace=workspace).ok


def test_refused_by_role_is_audited_with_its_code(workspace, marketer, reviewer, compliance, campaign, ad_format):
    variant = variant_for(workspace, creator=marketer, campaign=campaign)
    review = review_services.variant_submit(actor=marketer, variant=variant)
    review_services.review_decide(
        actor=reviewer, stage=review.stages.get(), outcome="approve", expected_sha256=variant.sha256
    )
    variant.refresh_from_db()
    with pytest.raises(RoleRequired):
        services.publication_request(actor=compliance, variant=variant, target_format=ad_format)
    event = last_event(workspace)
    assert (event.action, event.actor, event.data["code"]) == (
        "approvals.publication.refused",
        compliance,
        "role_required",
    )


def test_refused_publish_from_the_page_is_audited(workspace, marketer, campaign, ad_format):
    variant = variant_for(workspace, creator=marketer, campaign=campaign)
    review = review_services.variant_submit(actor=marketer, variant=variant)
    client = Client()
    client.force_login(marketer)
    response = client.post(
        reverse("publishing:publish", args=[workspace.slug, review.pk]), {"target_format": ad_format.pk}, follow=True
    )
    assert "Only approved images can be published" in response.content.decode()
    event = last_event(workspace)
    assert event.action == "approvals.publication.refused"
    assert event.data["outcome"] == "refused"


def test_refusal_event_type_is_registered_and_renders():
    kind = registry.require("approvals.publication.refused")
    assert kind.subject_kind == "studio.variant"
    sentence = kind.render(actor="Mia", subject="variant 7", data={"format": "LinkedIn ad", "reason": "Not approved."})
    assert sentence == "Mia was refused publishing variant 7 as LinkedIn ad: Not approved."
