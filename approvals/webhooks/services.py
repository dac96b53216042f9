"""Webhook endpoint writes (workspace admins only), each audited without the secret.

A new endpoint's secret, and a rotated one, is returned once to the caller (the page shows it once);
only its Fernet token and a short hint are stored.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from approvals.webhooks import events, signing
from approvals.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEventType
from approvals.webhooks.urlcheck import url_problem
from studio.core.errors import InvalidInput, Refusal
from studio.core.models import Workspace
from studio.core.notifications import notification_send
from studio.core.permissions import ADMINISTRATORS, RoleRequired, can_administer, members_with_role

__all__ = [
    "DISABLED_KIND",
    "endpoint_create",
    "endpoint_delete",
    "endpoint_disable",
    "endpoint_enable",
    "endpoint_secret_rotate",
    "endpoint_update",
    "delivery_redeliver",
]

DISABLED_KIND = "webhook.disabled"  # the inbox notice admins get when an endpoint is switched off


class WebhookRefused(Refusal):
    code = "webhook_refused"


def _require_admin(actor, workspace: Workspace) -> None:
    if not can_administer(actor, workspace):
        raise RoleRequired(f"Only a workspace admin can manage webhooks in {workspace.name}.")


def _clean(*, url: str, description: str, event_types: Iterable[str]) -> tuple[str, str, list[str]]:
    url = (url or "").strip()
    problems: dict[str, str] = {}
    if problem := url_problem(url):
        problems["url"] = problem
    chosen = sorted(set(event_types))
    unknown = [t for t in chosen if t not in WebhookEventType.values]
    if unknown or not chosen:
        problems["event_types"] = "Choose at least one of the listed events."
    if len(description or "") > 200:
        problems["description"] = "Keep the description under 200 characters."
    if problems:
        raise InvalidInput(next(iter(problems.values())), field_errors=problems)
    return url, (description or "").strip(), chosen


@transaction.atomic
def endpoint_create(
    *, actor, workspace: Workspace, url: str, event_types: Iterable[str], description: str = ""
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret (returned once, never again)."""
    _require_admin(actor, workspace)
    url, description, chosen = _clean(url=url, description=description, event_types=event_types)
    secret = signing.secret_generate()
    endpoint = WebhookEndpoint.objects.create(
        workspace=workspace,
        url=url,
        description=description,
        event_types=chosen,
        secret_encrypted=signing.secret_encrypt(secret),
        secret_hint=signing.secret_hint(secret),
        created_by=actor,
    )
    events.endpoint_created(endpoint=endpoint, actor=actor)
    return endpoint, secret


def _locked(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    return WebhookEndpoint.objects.select_for_update().select_related("workspace").get(pk=endpoint.pk)


@transaction.atomic
def endpoint_update(
    *, actor, endpoint: WebhookEndpoint, url: str, event_types: Iterable[str], description: str = ""
) -> WebhookEndpoint:
    _require_admin(actor, endpoint.workspace)
    url, description, chosen = _clean(url=url, description=description, event_types=event_types)
    endpoint = _locked(endpoint)
    changed = [
        name
        for name, value in (("url", url), ("description", description), ("event_types", chosen))
        if getattr(endpoint, name) != value
    ]
    if not changed:
        return endpoint
    endpoint.url, endpoint.description, endpoint.event_types = url, description, chosen
    endpoint.save(update_fields=["url", "description", "event_types", "updated_at"])
    events.endpoint_updated(endpoint=endpoint, actor=actor, changed=changed)
    return endpoint


@transaction.atomic
def endpoint_delete(*, actor, endpoint: WebhookEndpoint) -> None:
    _require_admin(actor, endpoint.workspace)
    endpoint = _locked(endpoint)
    events.endpoint_deleted(endpoint=endpoint, actor=actor)
    endpoint.delete()


@transaction.atomic
def endpoint_secret_rotate(*, actor, endpoint: WebhookEndpoint) -> str:
    """A new secret (returned once); the old one stops signing at once."""
    _require_admin(actor, endpoint.workspace)
    endpoint = _locked(endpoint)
    secret = signing.secret_generate()
    endpoint.secret_encrypted = signing.secret_encrypt(secret)
    endpoint.secret_hint = signing.secret_hint(secret)
    endpoint.save(update_fields=["secret_encrypted", "secret_hint", "updated_at"])
    events.endpoint_secret_rotated(endpoint=endpoint, actor=actor)
    return secret


@transaction.atomic
def endpoint_enable(*, actor, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Switch an endpoint back on; its failure count starts again. Deliveries that gave up stay failed
    (redeliver them from the log)."""
    _require_admin(actor, endpoint.workspace)
    endpoint = _locked(endpoint)
    if endpoint.is_active:
        return endpoint
    endpoint.is_active, endpoint.disabled_at, endpoint.disabled_reason = True, None, ""
    endpoint.consecutive_failures = 0
    endpoint.save(update_fields=["is_active", "disabled_at", "disabled_reason", "consecutive_failures", "updated_at"])
    events.endpoint_enabled(endpoint=endpoint, actor=actor)
    return endpoint


@transaction.atomic
def endpoint_disable(*, actor, endpoint: WebhookEndpoint, reason: str) -> WebhookEndpoint:
    """Switch an endpoint off (an admin, or ``actor=None``: the system after repeated failures). Its
    pending deliveries give up; every workspace admin gets an inbox notice when the system did it."""
    if actor is not None:
        _require_admin(actor, endpoint.workspace)
    endpoint = _locked(endpoint)
    if not endpoint.is_active:
        return endpoint
    endpoint.is_active, endpoint.disabled_at, endpoint.disabled_reason = False, timezone.now(), reason[:300]
    endpoint.save(update_fields=["is_active", "disabled_at", "disabled_reason", "updated_at"])
    WebhookDelivery.objects.filter(
        endpoint=endpoint, status__in=(DeliveryStatus.PENDING, DeliveryStatus.RETRYING)
    ).update(status=DeliveryStatus.FAILED, next_attempt_at=None, error="The endpoint was disabled.")
    events.endpoint_disabled(endpoint=endpoint, actor=actor, reason=endpoint.disabled_reason)
    if actor is None:
        from django.urls import reverse

        url = reverse("webhooks:endpoint_detail", args=[endpoint.workspace.slug, endpoint.pk])
        for admin in members_with_role(endpoint.workspace, ADMINISTRATORS):
            notification_send(
                user=admin,
                workspace=endpoint.workspace,
                kind=DISABLED_KIND,
                text=f"The webhook endpoint {endpoint.url} was disabled: {endpoint.disabled_reason}",
                url=url,
                email=True,
            )
    return endpoint


@transaction.atomic
def delivery_redeliver(*, actor, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again now, with its original webhook-id (receivers deduplicate on it)."""
    _require_admin(actor, delivery.workspace)
    delivery = WebhookDelivery.objects.select_for_update().select_related("endpoint", "workspace").get(pk=delivery.pk)
    if not delivery.endpoint.is_active:
        raise WebhookRefused("Enable the endpoint first; a disabled endpoint receives nothing.")
    if delivery.status in (DeliveryStatus.PENDING, DeliveryStatus.RETRYING) and delivery.attempts == 0:
        return delivery  # its first attempt is still on its way
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = timezone.now()
    delivery.window_started_at = timezone.now()  # a manual redelivery gets a fresh 24-hour window
    delivery.save(update_fields=["status", "next_attempt_at", "window_started_at"])
    events.delivery_redelivered(delivery=delivery, actor=actor)
    from approvals.webhooks.tasks import webhook_deliver

    pk = delivery.pk
    transaction.on_commit(lambda: webhook_deliver.delay(pk))
    return delivery
