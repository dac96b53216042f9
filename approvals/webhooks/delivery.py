"""Sending webhooks: one delivery per (event, endpoint), attempted by Celery until it succeeds or its
24-hour window is spent (``backoff``).

An attempt is claimed with one conditional UPDATE (its ``next_attempt_at`` moves to the claim's expiry),
so a redelivered Celery message or a second worker never sends the same attempt twice at once, and a
worker that dies mid-attempt leaves a claim that expires and is picked up by ``deliveries_dispatch``.
The receiver's body is never stored beyond a short excerpt; the secret is never logged.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import timedelta

import httpx2
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from approvals.webhooks import backoff, signing
from approvals.webhooks.mapping import payload_for, webhook_type_for
from approvals.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from approvals.webhooks.urlcheck import url_problem
from studio.core.models import AuditEvent

logger = logging.getLogger(__name__)

CLAIM_SECONDS = 120  # longer than an attempt can take (connect + read timeouts)
EXCERPT_CHARS = 200
READ_LIMIT_BYTES = 4096  # the most of a response body ever read
DUE_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)


def _timeout() -> float:
    return float(getattr(settings, "IMPRIMATUR_WEBHOOK_TIMEOUT_SECONDS", 10.0))


def _disable_after() -> int:
    return int(getattr(settings, "IMPRIMATUR_WEBHOOK_DISABLE_AFTER_FAILURES", 15))


def msg_id_new() -> str:
    return "msg_" + uuid.uuid4().hex


def deliveries_for_event(event: AuditEvent) -> list[int]:
    """The deliveries an audit event makes (one per active endpoint of its workspace subscribed to its
    webhook type); their ids, to enqueue after commit. An event delivered before makes none."""
    webhook_type = webhook_type_for(event.action)
    if webhook_type is None:
        return []
    endpoints = [
        e
        for e in WebhookEndpoint.objects.filter(workspace_id=event.workspace_id, is_active=True).select_related(
            "workspace"
        )
        if e.subscribes_to(webhook_type)
    ]
    if not endpoints:
        return []
    now = timezone.now()
    slug = endpoints[0].workspace.slug
    payload = payload_for(event, webhook_type, workspace_slug=slug)
    made = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                workspace_id=event.workspace_id,
                endpoint=endpoint,
                msg_id=msg_id_new(),
                event_type=webhook_type,
                audit_event_id=event.pk,
                payload=payload,
                next_attempt_at=now,
                window_started_at=now,
            )
            for endpoint in endpoints
        ],
        ignore_conflicts=True,  # the (endpoint, audit event) pair is unique: a repeated signal adds nothing
    )
    if all(d.pk for d in made):
        return [d.pk for d in made]
    return list(
        WebhookDelivery.objects.filter(audit_event_id=event.pk, attempts=0, status=DeliveryStatus.PENDING).values_list(
            "pk", flat=True
        )
    )


def _claim(delivery_id: int) -> WebhookDelivery | None:
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status__in=DUE_STATUSES, next_attempt_at__lte=now, endpoint__is_active=True
    ).update(next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS), attempts=F("attempts") + 1, last_attempt_at=now)
    if not claimed:
        return None
    return WebhookDelivery.objects.select_related("endpoint", "endpoint__workspace").get(pk=delivery_id)


def _body(delivery: WebhookDelivery) -> bytes:
    return json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()


def _send(delivery: WebhookDelivery) -> tuple[int | None, str, str, int]:
    """One HTTP attempt: (status code or None, error, body excerpt, latency in ms). Never raises."""
    endpoint = delivery.endpoint
    if problem := url_problem(endpoint.url):  # again at send time: the DNS answer may have changed
        return None, problem[:300], "", 0
    try:
        secret = signing.secret_decrypt(endpoint.secret_encrypted)
    except signing.SecretUnreadable as exc:
        return None, str(exc), "", 0
    body = _body(delivery)
    headers = signing.signed_headers(secret=secret, msg_id=delivery.msg_id, timestamp=int(time.time()), body=body)
    started = time.monotonic()
    try:
        with (
            httpx2.Client(timeout=_timeout(), follow_redirects=False, trust_env=False) as client,
            client.stream("POST", endpoint.url, content=body, headers=headers) as response,
        ):
            excerpt = b""
            for chunk in response.iter_bytes():
                excerpt += chunk
                if len(excerpt) >= READ_LIMIT_BYTES:
                    break
            code = response.status_code
    except httpx2.TimeoutException:
        return None, "The endpoint did not answer in time.", "", _ms(started)
    except httpx2.HTTPError as exc:
        return None, f"Could not connect: {type(exc).__name__}.", "", _ms(started)
    text = excerpt.decode("utf-8", errors="replace")[:EXCERPT_CHARS]
    error = "" if 200 <= code < 300 else f"The endpoint answered {code}."
    if 300 <= code < 400:
        error = f"The endpoint answered {code} (redirects are not followed)."
    return code, error, text, _ms(started)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def delivery_attempt(delivery_id: int) -> str | None:
    """Attempt one due delivery; its new status, or None when it was not due (already claimed, sent,
    given up, or its endpoint is disabled)."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    code, error, excerpt, latency = _send(delivery)
    return _record(delivery, code=code, error=error, excerpt=excerpt, latency=latency)


@transaction.atomic
def _record(delivery: WebhookDelivery, *, code: int | None, error: str, excerpt: str, latency: int) -> str:
    now = timezone.now()
    endpoint = WebhookEndpoint.objects.select_for_update().select_related("workspace").get(pk=delivery.endpoint_id)
    delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
    delivery.response_code, delivery.latency_ms = code, latency
    delivery.response_excerpt, delivery.error = excerpt, error[:300]
    if not error:
        delivery.status, delivery.next_attempt_at, delivery.delivered_at = DeliveryStatus.SUCCEEDED, None, now
        endpoint.consecutive_failures = 0
    else:
        following = backoff.next_attempt_at(created_at=delivery.window_started_at, attempts=delivery.attempts, now=now)
        delivery.status = DeliveryStatus.RETRYING if following else DeliveryStatus.FAILED
        delivery.next_attempt_at = following
        endpoint.consecutive_failures += 1
    delivery.save()
    endpoint.save(update_fields=["consecutive_failures"])
    if error and endpoint.is_active and endpoint.consecutive_failures >= _disable_after():
        from approvals.webhooks.services import endpoint_disable

        endpoint_disable(
            actor=None,
            endpoint=endpoint,
            reason=f"{endpoint.consecutive_failures} deliveries in a row failed (last: {error[:150]})",
        )
        delivery.refresh_from_db()
    return delivery.status


def deliveries_due(limit: int = 500) -> list[int]:
    """Ids of deliveries whose attempt is due (retries, and claims of crashed workers that expired)."""
    return list(
        WebhookDelivery.objects.filter(
            status__in=DUE_STATUSES, next_attempt_at__lte=timezone.now(), endpoint__is_active=True
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
