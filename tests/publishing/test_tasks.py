"""Publishing's render task: enqueued only on commit (through the outbox), idempotent, refusals reported as
a notice."""

from __future__ import annotations

from unittest import mock

import pytest
from django.urls import reverse

from approvals.publishing import tasks
from approvals.publishing.models import Publication
from approvals.reviews import services
from studio.core.models import Notification
from studio.core.outbox import services as outbox_services
from studio.core.outbox.models import OutboxMessage
from tests.approvals.factories_reviews import variant_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def submitted(workspace, marketer, reviewer, campaign):
    variant = variant_for(workspace, creator=marketer, campaign=campaign, width=120, height=63)  # the ad's shape
    return services.variant_submit(actor=marketer, variant=variant)


def test_publication_render_enqueued_only_on_commit_through_the_outbox(
    submitted, reviewer, marketer, ad_format, client, django_capture_on_commit_callbacks
):
    variant = submitted.variant
    services.review_decide(
        actor=reviewer, stage=submitted.stages.get(), outcome="approve", expected_sha256=variant.sha256
    )
    client.force_login(marketer)
    with mock.patch.object(outbox_services, "task_send") as send:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            url = reverse("publishing:publish", args=[submitted.workspace.slug, submitted.pk])
            response = client.post(url, {"target_format": ad_format.pk})
        assert response.status_code == 302
        send.assert_not_called()
        row = OutboxMessage.objects.get(task_name=tasks.publication_render.name)
        assert row.args == [variant.pk, ad_format.pk, marketer.pk]
        for callback in callbacks:
            callback()
        send.assert_called_once_with(tasks.publication_render.name, [variant.pk, ad_format.pk, marketer.pk], None)


def test_publication_render_is_idempotent_and_reports_refusals(submitted, reviewer, marketer, ad_format):
    variant = submitted.variant
    assert tasks.publication_render(variant.pk, ad_format.pk, marketer.pk) is None  # not approved yet
    failure = Notification.objects.get(user=marketer, kind="publication.failed")
    assert "Only approved images" in failure.text
    services.review_decide(
        actor=reviewer, stage=submitted.stages.get(), outcome="approve", expected_sha256=variant.sha256
    )
    first = tasks.publication_render(variant.pk, ad_format.pk, marketer.pk)
    assert tasks.publication_render(variant.pk, ad_format.pk, marketer.pk) == first
    assert Publication.objects.count() == 1


def test_render_task_keeps_its_registered_name():
    # Messages queued before publishing had its own app carry the old name.
    assert tasks.publication_render.name == "approvals.tasks.publication_render"
