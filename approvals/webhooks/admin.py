"""Admin: read-only views of endpoints and deliveries (changes go through the audited settings pages);
the encrypted secret is never shown."""

from django.contrib import admin

from approvals.webhooks.models import WebhookDelivery, WebhookEndpoint
from studio.generation.admin_scoping import ReadOnlyScopedAdmin


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyScopedAdmin):
    list_display = ("url", "workspace", "is_active", "consecutive_failures", "created_at")
    exclude = ("secret_encrypted",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyScopedAdmin):
    list_display = (
        "msg_id",
        "workspace",
        "endpoint",
        "event_type",
        "status",
        "attempts",
        "response_code",
        "created_at",
    )
    list_select_related = ("workspace", "endpoint")
    list_filter = ("status", "event_type")
