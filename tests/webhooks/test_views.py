"""Webhook settings for workspace admins: add (secret shown once), edit, rotate, disable/enable,
delete, the delivery log with redelivery; 403 for members who are not admins, 404 across workspaces."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from approvals.webhooks import services
from approvals.webhooks.models import WebhookDelivery, WebhookEndpoint
from studio.core.models import AuditEvent, Role
from tests import factories as f
from tests.approvals.factories_reviews import member

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_add_endpoint_shows_the_secret_once(ws_admin, workspace, receiver):
    client = client_for(ws_admin)
    url = reverse("webhooks:endpoint_list", args=["acme"])
    assert "No endpoints yet" in client.get(url).content.decode()
    response = client.post(url, {"url": receiver.url, "event_types": ["publication.created", "review.decided"]})
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    endpoint = WebhookEndpoint.objects.get()
    start = page.index('value="whsec_') + len('value="')
    secret = page[start : page.index('"', start)]
    assert secret.startswith("whsec_")
    assert "shown only once" in page
    later = client.get(reverse("webhooks:endpoint_detail", args=["acme", endpoint.pk])).content.decode()
    assert secret not in later
    assert endpoint.secret_hint in later
    assert secret not in client.get(url).content.decode()


def test_invalid_endpoint_is_refused_with_the_reason(ws_admin, settings):
    settings.IMPRIMATUR_WEBHOOK_ALLOW_LOCAL_URLS = False
    response = client_for(ws_admin).post(
        reverse("webhooks:endpoint_list", args=["acme"]),
        {"url": "https://127.0.0.1/x", "event_types": ["publication.created"]},
    )
    assert response.status_code == 422
    assert "loopback" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_edit_rotate_toggle_delete(ws_admin, workspace, receiver):
    endpoint, secret = services.endpoint_create(
        actor=ws_admin, workspace=workspace, url=receiver.url, event_types=["run.finished"]
    )
    client = client_for(ws_admin)
    edit = client.post(
        reverse("webhooks:endpoint_update", args=["acme", endpoint.pk]),
        {"url": receiver.url, "description": "CMS", "event_types": ["budget.threshold", "run.finished"]},
    )
    assert edit.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.event_types == ["budget.threshold", "run.finished"]
    rotated = client.post(reverse("webhooks:endpoint_rotate", args=["acme", endpoint.pk]))
    assert rotated.status_code == 200
    assert secret not in rotated.content.decode()
    assert "whsec_" in rotated.content.decode()
    client.post(reverse("webhooks:endpoint_toggle", args=["acme", endpoint.pk]), {"action": "disable"})
    endpoint.refresh_from_db()
    assert endpoint.is_active is False
    client.post(reverse("webhooks:endpoint_toggle", args=["acme", endpoint.pk]), {"action": "enable"})
    endpoint.refresh_from_db()
    assert endpoint.is_active is True
    client.post(reverse("webhooks:endpoint_delete", args=["acme", endpoint.pk]))
    assert not WebhookEndpoint.objects.exists()
    actions = set(AuditEvent.objects.filter(workspace=workspace).values_list("action", flat=True))
    assert {
        "webhooks.endpoint.created",
        "webhooks.endpoint.updated",
        "webhooks.endpoint.secret_rotated",
        "webhooks.endpoint.disabled",
        "webhooks.endpoint.enabled",
        "webhooks.endpoint.deleted",
    } <= actions


def _delivery(endpoint, n: int) -> WebhookDelivery:
    return WebhookDelivery.objects.create(
        workspace=endpoint.workspace,
        endpoint=endpoint,
        msg_id=f"msg_{endpoint.pk}_{n}",
        event_type="publication.created",
        payload={"type": "publication.created", "data": {}},
        status="failed",
        attempts=3,
        response_code=500,
        latency_ms=12,
        error="The endpoint answered 500.",
    )


def test_delivery_log_and_redelivery(ws_admin, workspace, receiver, django_capture_on_commit_callbacks):
    endpoint, _ = services.endpoint_create(
        actor=ws_admin, workspace=workspace, url=receiver.url, event_types=["publication.created"]
    )
    delivery = _delivery(endpoint, 1)
    client = client_for(ws_admin)
    page = client.get(reverse("webhooks:endpoint_detail", args=["acme", endpoint.pk])).content.decode()
    assert delivery.msg_id in page
    assert "12 ms" in page
    assert "The endpoint answered 500." in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("webhooks:delivery_redeliver", args=["acme", endpoint.pk, delivery.pk]))
    assert response.status_code == 302
    [request] = receiver.wait_for(1)
    assert request.headers["webhook-id"] == delivery.msg_id
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"
    assert delivery.attempts == 4


def test_delivery_log_queries_are_constant(ws_admin, workspace, receiver, django_assert_max_num_queries):
    endpoint, _ = services.endpoint_create(
        actor=ws_admin, workspace=workspace, url=receiver.url, event_types=["publication.created"]
    )
    client = client_for(ws_admin)
    url = reverse("webhooks:endpoint_detail", args=["acme", endpoint.pk])
    for size in (2, 40):
        for n in range(WebhookDelivery.objects.count(), size):
            _delivery(endpoint, n)
        with django_assert_max_num_queries(15):
            assert client.get(url).status_code == 200


def test_members_who_are_not_admins_are_refused(marketer, workspace, ws_admin, receiver):
    endpoint, _ = services.endpoint_create(
        actor=ws_admin, workspace=workspace, url=receiver.url, event_types=["publication.created"]
    )
    client = client_for(marketer)
    assert client.get(reverse("webhooks:endpoint_list", args=["acme"])).status_code == 403
    assert client.get(reverse("webhooks:endpoint_detail", args=["acme", endpoint.pk])).status_code == 403


def test_workspace_wall(ws_admin, workspace, receiver):
    endpoint, _ = services.endpoint_create(
        actor=ws_admin, workspace=workspace, url=receiver.url, event_types=["publication.created"]
    )
    delivery = _delivery(endpoint, 1)
    other = f.WorkspaceFactory(slug="other")
    outsider = member(other, "otto", Role.ADMIN)
    client = client_for(outsider)
    assert client.get(reverse("webhooks:endpoint_list", args=["acme"])).status_code == 404
    for slug in ("acme", "other"):
        assert client.get(reverse("webhooks:endpoint_detail", args=[slug, endpoint.pk])).status_code == 404
        for name in ("endpoint_update", "endpoint_delete", "endpoint_rotate", "endpoint_toggle"):
            assert client.post(reverse(f"webhooks:{name}", args=[slug, endpoint.pk])).status_code == 404
        redeliver = reverse("webhooks:delivery_redeliver", args=[slug, endpoint.pk, delivery.pk])
        assert client.post(redeliver).status_code == 404
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk, is_active=True).exists()


def test_workspace_page_links_admins_to_webhooks(ws_admin, marketer):
    url = reverse("webhooks:endpoint_list", args=["acme"])
    assert url in client_for(ws_admin).get("/w/acme/").content.decode()
    assert url not in client_for(marketer).get("/w/acme/").content.decode()
