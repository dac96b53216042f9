"""Webhook endpoints (per workspace) and their deliveries (one per event and endpoint).

The signing secret is stored encrypted (``approvals.webhooks.signing``) and shown once, when it is made;
a delivery keeps only a short excerpt of what the receiver answered.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from studio.core.models import Workspace


class WebhookEventType(models.TextChoices):
    PUBLICATION_CREATED = "publication.created", "A rendition was published"
    PUBLICATION_RETRACTED = "publication.retracted", "A publication was retracted"
    REVIEW_DECIDED = "review.decided", "A review stage was decided"
    RUN_FINISHED = "run.finished", "A production run finished"
    BUDGET_THRESHOLD = "budget.threshold", "A campaign crossed its budget alert"


class WebhookEndpoint(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list)  # WebhookEventType values
    secret_encrypted = models.TextField()  # Fernet token of the whsec_ secret; never shown after creation
    secret_hint = models.CharField(max_length=12)  # "whsec_ab12…": which secret this is, nothing more
    is_active = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "webhooks_endpoint"
        ordering = ["workspace", "url", "pk"]

    def __str__(self) -> str:
        return self.url

    def subscribes_to(self, event_type: str) -> bool:
        return event_type in (self.event_types or [])


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RETRYING = "retrying", "Retrying"
    SUCCEEDED = "succeeded", "Delivered"
    FAILED = "failed", "Failed"  # gave up: the 24-hour window ran out, or the endpoint was disabled


class WebhookDelivery(models.Model):
    """One message to one endpoint. Retries reuse its ``msg_id`` (receivers deduplicate on webhook-id)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    msg_id = models.CharField(max_length=40, unique=True)
    event_type = models.CharField(max_length=40)
    audit_event_id = models.BigIntegerField(null=True, blank=True)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # When the next attempt is due; while an attempt runs it is the claim's expiry (a crashed worker's
    # attempt is picked up again by the dispatcher once it passes). Null when nothing more is due.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    response_excerpt = models.CharField(max_length=200, blank=True)  # never more than this of a body
    created_at = models.DateTimeField(auto_now_add=True)
    # The 24-hour retry window starts here: at the event, or when an admin redelivers.
    window_started_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "webhooks_delivery"
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due"),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_log"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "audit_event_id"],
                condition=models.Q(audit_event_id__isnull=False),
                name="webhook_delivery_once_per_event",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"
