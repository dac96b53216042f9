"""The webhooks' audit vocabulary. Endpoint data never includes the signing secret."""

from __future__ import annotations

from typing import Any

from approvals.webhooks.models import WebhookDelivery, WebhookEndpoint
from studio.core.audit import audit_record
from studio.core.events import event_group, event_type
from studio.core.models import AuditEvent
from studio.core.subjects import subject_kind_register

ENDPOINT = subject_kind_register(
    "webhooks.endpoint",
    title="Webhook endpoint",
    noun="webhook endpoint",
    model=WebhookEndpoint,
    fields={"url": "url"},
    label=lambda v, pk: f"the webhook endpoint {v['url']}" if v.get("url") else "",
    link=lambda v, pk, slug: ("webhooks:endpoint_detail", [slug, pk]),
)
DELIVERY = subject_kind_register(
    "webhooks.delivery",
    title="Webhook delivery",
    noun="webhook delivery",
    model=WebhookDelivery,
    fields={"endpoint": "endpoint_id", "url": "endpoint__url"},
    label=lambda v, pk: f"webhook delivery #{pk} to {v['url']}" if v.get("url") else "",
    link=lambda v, pk, slug: ("webhooks:endpoint_detail", [slug, v.get("endpoint")]),
)

event_group("webhooks.endpoint", "Webhook endpoints")
event_group("webhooks.delivery", "Webhook deliveries")

ENDPOINT_CREATED = event_type(
    "webhooks.endpoint.created",
    label="Webhook endpoint added",
    message="{actor} added the webhook endpoint {url} for {events}",
    subject_kind=ENDPOINT,
)
ENDPOINT_UPDATED = event_type(
    "webhooks.endpoint.updated",
    label="Webhook endpoint changed",
    message="{actor} changed the webhook endpoint {url} (events: {events})",
    subject_kind=ENDPOINT,
)
ENDPOINT_DELETED = event_type(
    "webhooks.endpoint.deleted",
    label="Webhook endpoint removed",
    message="{actor} removed the webhook endpoint {url}",
    subject_kind=ENDPOINT,
)
ENDPOINT_SECRET_ROTATED = event_type(
    "webhooks.endpoint.secret_rotated",
    label="Webhook secret rotated",
    message="{actor} rotated the signing secret of {url}",
    subject_kind=ENDPOINT,
)
ENDPOINT_DISABLED = event_type(
    "webhooks.endpoint.disabled",
    label="Webhook endpoint disabled",
    message="{actor} disabled the webhook endpoint {url}: {reason}",
    subject_kind=ENDPOINT,
)
ENDPOINT_ENABLED = event_type(
    "webhooks.endpoint.enabled",
    label="Webhook endpoint enabled",
    message="{actor} enabled the webhook endpoint {url} again",
    subject_kind=ENDPOINT,
)
DELIVERY_REDELIVERED = event_type(
    "webhooks.delivery.redelivered",
    label="Webhook redelivered",
    message="{actor} asked to deliver {event} to {url} again",
    subject_kind=DELIVERY,
)


def _endpoint_data(endpoint: WebhookEndpoint, **extra: Any) -> dict[str, Any]:
    return {"url": endpoint.url, "events": ", ".join(endpoint.event_types), **extra}


def endpoint_created(*, endpoint: WebhookEndpoint, actor: Any) -> AuditEvent:
    return audit_record(
        ENDPOINT_CREATED, workspace=endpoint.workspace, actor=actor, subject=endpoint, data=_endpoint_data(endpoint)
    )


def endpoint_updated(*, endpoint: WebhookEndpoint, actor: Any, changed: list[str]) -> AuditEvent:
    return audit_record(
        ENDPOINT_UPDATED,
        workspace=endpoint.workspace,
        actor=actor,
        subject=endpoint,
        data=_endpoint_data(endpoint, changed=changed),
    )


def endpoint_deleted(*, endpoint: WebhookEndpoint, actor: Any) -> AuditEvent:
    return audit_record(
        ENDPOINT_DELETED,
        workspace=endpoint.workspace,
        actor=actor,
        subject_id=endpoint.pk,
        data=_endpoint_data(endpoint),
    )


def endpoint_secret_rotated(*, endpoint: WebhookEndpoint, actor: Any) -> AuditEvent:
    return audit_record(
        ENDPOINT_SECRET_ROTATED,
        workspace=endpoint.workspace,
        actor=actor,
        subject=endpoint,
        data=_endpoint_data(endpoint),
    )


def endpoint_disabled(*, endpoint: WebhookEndpoint, actor: Any, reason: str) -> AuditEvent:
    return audit_record(
        ENDPOINT_DISABLED,
        workspace=endpoint.workspace,
        actor=actor,
        subject=endpoint,
        data=_endpoint_data(endpoint, reason=reason, failures=endpoint.consecutive_failures),
    )


def endpoint_enabled(*, endpoint: WebhookEndpoint, actor: Any) -> AuditEvent:
    return audit_record(
        ENDPOINT_ENABLED, workspace=endpoint.workspace, actor=actor, subject=endpoint, data=_endpoint_data(endpoint)
    )


def delivery_redelivered(*, delivery: WebhookDelivery, actor: Any) -> AuditEvent:
    return audit_record(
        DELIVERY_REDELIVERED,
        workspace=delivery.workspace,
        actor=actor,
        subject=delivery,
        data={"url": delivery.endpoint.url, "event": delivery.event_type, "msg_id": delivery.msg_id},
    )
