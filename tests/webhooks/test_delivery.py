"""Real deliveries to a receiver on 127.0.0.1: signed, logged, retried with backoff, given up after 24
hours, the endpoint disabled after repeated failure (with inbox notices), redelivered by hand."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from approvals.publishing import services as publishing
from approvals.webhooks import delivery as sending
from approvals.webhooks import services
from approvals.webhooks.events import ENDPOINT_ENABLED
from approvals.webhooks.models import DeliveryStatus, WebhookDelivery
from approvals.webhooks.tasks import webhooks_dispatch
from studio.core.audit import audit_record
from studio.core.audit.chain import audit_event_committed
from studio.core.models import AuditEvent, Notification

pytestmark = pytest.mark.django_db


def _publish(django_capture_on_commit_callbacks, marketer, approved, ad_format):
    with django_capture_on_commit_callbacks(execute=True):
        return publishing.publication_create(actor=marketer, variant=approved, target_format=ad_format)


def test_publication_created_is_delivered_signed(
    django_capture_on_commit_callbacks, endpoint_with_secret, receiver, marketer, approved, ad_format
):
    endpoint, secret = endpoint_with_secret
    publication = _publish(django_capture_on_commit_callbacks, marketer, approved, ad_format)
    [request] = receiver.wait_for(1)
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload["type"] == "publication.created"
    assert payload["data"]["subject"] == {"kind": "approvals.publication", "id": str(publication.pk)}
    assert payload["data"]["workspace"] == "acme"
    assert payload["data"]["format"] == ad_format.name
    assert payload["data"]["url"]
    delivery = WebhookDelivery.objects.get(endpoint=endpoint, event_type="publication.created")
    assert request.headers["webhook-id"] == delivery.msg_id
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.attempts == 1
    assert delivery.response_code == 200
    assert delivery.latency_ms is not None
    assert delivery.response_excerpt == '{"ok": true}'


def test_review_decision_is_delivered(
    django_capture_on_commit_callbacks, endpoint_with_secret, receiver, workspace, marketer, reviewer, campaign
):
    from approvals.reviews import services as review_services
    from approvals.reviews.models import StageKind
    from tests.approvals.factories_reviews import variant_for

    endpoint, secret = endpoint_with_secret
    variant = variant_for(workspace, creator=marketer, campaign=campaign)
    review = review_services.variant_submit(actor=marketer, variant=variant)
    with django_capture_on_commit_callbacks(execute=True):
        review_services.review_decide(
            actor=reviewer,
            stage=review.stages.get(kind=StageKind.BRAND),
            outcome="reject",
            note="Off brand colours.",
            expected_sha256=variant.sha256,
        )
    [request] = receiver.wait_for(1)
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload["type"] == "review.decided"
    assert payload["data"]["outcome"] == "reject"
    assert payload["data"]["review"] == review.pk


def test_unsubscribed_and_other_workspace_endpoints_get_nothing(
    django_capture_on_commit_callbacks, receiver, ws_admin, workspace, marketer, approved, ad_format
):
    from tests import factories as f
    from tests.approvals.factories_reviews import member

    services.endpoint_create(actor=ws_admin, workspace=workspace, url=receiver.url, event_types=["run.finished"])
    other = f.WorkspaceFactory(slug="other")
    other_admin = member(other, "otto", role="admin")
    services.endpoint_create(actor=other_admin, workspace=other, url=receiver.url, event_types=["publication.created"])
    _publish(django_capture_on_commit_callbacks, marketer, approved, ad_format)
    assert WebhookDelivery.objects.count() == 0
    assert receiver.requests == []


@transaction.atomic
def _append_then_fail(workspace, actor):
    audit_record(ENDPOINT_ENABLED, workspace=workspace, actor=actor, data={"url": "rolled back"})
    raise RuntimeError("roll back")


def test_only_committed_events_are_announced(django_capture_on_commit_callbacks, workspace, ws_admin):
    seen = []

    def listen(sender, event, **kwargs):
        seen.append(event.data["url"])

    audit_event_committed.connect(listen)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            with pytest.raises(RuntimeError):
                _append_then_fail(workspace, ws_admin)
            with transaction.atomic():
                audit_record(ENDPOINT_ENABLED, workspace=workspace, actor=ws_admin, data={"url": "kept"})
    finally:
        audit_event_committed.disconnect(listen)
    assert seen == ["kept"]


def _failing_delivery(django_capture_on_commit_callbacks, receiver, marketer, approved, ad_format, status=500):
    receiver.status = status
    receiver.body = b"x" * 5000
    _publish(django_capture_on_commit_callbacks, marketer, approved, ad_format)
    receiver.wait_for(1)
    return WebhookDelivery.objects.get(event_type="publication.created")


def test_failure_is_retried_with_backoff_and_bodies_are_truncated(
    django_capture_on_commit_callbacks, endpoint_with_secret, receiver, marketer, approved, ad_format
):
    before = timezone.now()
    delivery = _failing_delivery(django_capture_on_commit_callbacks, receiver, marketer, approved, ad_format)
    assert delivery.status == DeliveryStatus.RETRYING
    assert delivery.response_code == 500
    assert delivery.error == "The endpoint answered 500."
    assert len(delivery.response_excerpt) == 200
    assert before + timedelta(seconds=29) <= delivery.next_attempt_at <= timezone.now() + timedelta(seconds=31)
    # not due yet: the dispatcher leaves it alone
    assert webhooks_dispatch() == 0
    # due: the dispatcher sends it again with the same webhook-id, and the next wait is longer
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    receiver.status = 204
    receiver.body = b""
    assert webhooks_dispatch() == 1
    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.msg_id
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.attempts == 2
    assert delivery.response_code == 204


def test_delivery_gives_up_after_24_hours(
    django_capture_on_commit_callbacks, endpoint_with_secret, receiver, marketer, approved, ad_format
):
    delivery = _failing_delivery(django_capture_on_commit_callbacks, receiver, marketer, approved, ad_format)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        window_started_at=timezone.now() - timedelta(hours=24, seconds=1), next_attempt_at=timezone.now()
    )
    assert sending.delivery_attempt(delivery.pk) == DeliveryStatus.FAILED
    delivery.refresh_from_db()
    assert delivery.next_attempt_at is None
    assert sending.delivery_attempt(delivery.pk) is None  # nothing more is due


def test_unreachable_and_slow_endpoints_fail_plainly(
    django_capture_on_commit_callbacks, settings, endpoint_with_secret, receiver, marketer, approved, ad_format
):
    endpoint, _ = endpoint_with_secret
    settings.IMPRIMATUR_WEBHOOK_TIMEOUT_SECONDS = 0.3
    receiver.delay = 1.0
    delivery = _failing_delivery(django_capture_on_commit_callbacks, receiver, marketer, approved, ad_format, 200)
    assert delivery.error == "The endpoint did not answer in time."
    assert delivery.response_code is None
    receiver.delay = 0
    type(endpoint).objects.filter(pk=endpoint.pk).update(url="http://127.0.0.1:1/closed")
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert sending.delivery_attempt(delivery.pk) == DeliveryStatus.RETRYING
    delivery.refresh_from_db()
    assert delivery.error.startswith("Could not connect")


def test_duplicate_message_does_not_send_twice(
    django_capture_on_commit_callbacks, endpoint_with_secret, receiver, marketer, approved, ad_format
):
    _publish(django_capture_on_commit_callbacks, marketer, approved, ad_format)
    delivery = WebhookDelivery.objects.get()
    assert sending.delivery_attempt(delivery.pk) is None  # the redelivered Celery message: not due
    assert len(receiver.wait_for(1)) == 1


def test_endpoint_disabled_after_repeated_failure_with_inbox_notice(
    django_capture_on_commit_callbacks,
    settings,
    endpoint_with_secret,
    receiver,
    ws_admin,
    workspace,
    marketer,
    approved,
    ad_format,
):
    endpoint, _ = endpoint_with_secret
    settings.IMPRIMATUR_WEBHOOK_DISABLE_AFTER_FAILURES = 3
    delivery = _failing_delivery(django_capture_on_commit_callbacks, receiver, marketer, approved, ad_format, 503)
    for _ in range(2):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        sending.delivery_attempt(delivery.pk)
    endpoint.refresh_from_db()
    delivery.refresh_from_db()
    assert endpoint.is_active is False
    assert "3 deliveries in a row failed" in endpoint.disabled_reason
    assert delivery.status == DeliveryStatus.FAILED
    notice = Notification.objects.get(user=ws_admin, kind=services.DISABLED_KIND)
    assert endpoint.url in notice.text
    assert AuditEvent.objects.filter(workspace=workspace, action="webhooks.endpoint.disabled", actor=None).exists()
    # a disabled endpoint receives nothing new
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.RETRYING, next_attempt_at=timezone.now()
    )
    assert sending.delivery_attempt(delivery.pk) is None


def test_success_resets_the_failure_count(
    django_capture_on_commit_callbacks, endpoint_with_secret, receiver, marketer, approved, ad_format
):
    endpoint, _ = endpoint_with_secret
    delivery = _failing_delivery(django_capture_on_commit_callbacks, receiver, marketer, approved, ad_format)
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 1
    receiver.status = 200
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    sending.delivery_attempt(delivery.pk)
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0


def test_manual_redelivery_keeps_the_webhook_id_and_is_audited(
    django_capture_on_commit_callbacks,
    endpoint_with_secret,
    receiver,
    ws_admin,
    workspace,
    marketer,
    approved,
    ad_format,
):
    _, secret = endpoint_with_secret
    _publish(django_capture_on_commit_callbacks, marketer, approved, ad_format)
    delivery = WebhookDelivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        services.delivery_redeliver(actor=ws_admin, delivery=delivery)
    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert Webhook(secret).verify(second.body, second.headers)["type"] == "publication.created"
    delivery.refresh_from_db()
    assert delivery.attempts == 2
    event = AuditEvent.objects.filter(workspace=workspace, action="webhooks.delivery.redelivered").get()
    assert event.data["msg_id"] == delivery.msg_id


def test_redelivery_needs_an_admin(
    django_capture_on_commit_callbacks, endpoint_with_secret, marketer, approved, ad_format
):
    from studio.core.permissions import RoleRequired

    _publish(django_capture_on_commit_callbacks, marketer, approved, ad_format)
    with pytest.raises(RoleRequired):
        services.delivery_redeliver(actor=marketer, delivery=WebhookDelivery.objects.get())


def test_send_time_ssrf_check(
    django_capture_on_commit_callbacks, settings, endpoint_with_secret, receiver, marketer, approved, ad_format
):
    """An endpoint saved while local URLs were allowed is not called once they are not."""
    settings.IMPRIMATUR_WEBHOOK_ALLOW_LOCAL_URLS = False
    _publish(django_capture_on_commit_callbacks, marketer, approved, ad_format)
    delivery = WebhookDelivery.objects.get()
    assert receiver.requests == []
    assert "https://" in delivery.error
    assert delivery.status == DeliveryStatus.RETRYING


def test_payload_is_json_with_the_standard_envelope(
    django_capture_on_commit_callbacks, endpoint_with_secret, receiver, marketer, approved, ad_format
):
    _publish(django_capture_on_commit_callbacks, marketer, approved, ad_format)
    [request] = receiver.wait_for(1)
    body = json.loads(request.body)
    assert set(body) == {"type", "timestamp", "data"}
    assert request.headers["content-type"] == "application/json"
