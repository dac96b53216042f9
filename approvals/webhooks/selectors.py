"""Webhook reads, scoped to the workspace of the URL (other workspaces' endpoints are 404)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from approvals.webhooks.models import WebhookDelivery, WebhookEndpoint
from studio.core.models import Workspace


def endpoints_for(*, workspace: Workspace) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(workspace=workspace).order_by("url", "pk")


def endpoint_get(*, workspace: Workspace, pk: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.select_related("workspace").filter(workspace=workspace, pk=pk).first()
    if endpoint is None:
        raise Http404("No such endpoint")
    return endpoint


def deliveries_for(*, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    """The delivery log, newest first (payloads are not loaded for the list)."""
    return WebhookDelivery.objects.filter(endpoint=endpoint).defer("payload").order_by("-created_at", "-pk")


def delivery_get(*, workspace: Workspace, endpoint_pk: int, pk: int) -> WebhookDelivery:
    delivery = (
        WebhookDelivery.objects.select_related("endpoint", "workspace")
        .filter(workspace=workspace, endpoint_id=endpoint_pk, endpoint__workspace=workspace, pk=pk)
        .first()
    )
    if delivery is None:
        raise Http404("No such delivery")
    return delivery
