"""Webhook settings for workspace admins: ``/w/<slug>/settings/webhooks/``.

The secret is shown once, in the answer to the request that made it (creation or rotation), and never
again; the page is ``no-store`` so the browser does not keep it either.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from approvals.webhooks import selectors, services
from approvals.webhooks.forms import EndpointForm
from approvals.webhooks.models import WebhookEndpoint
from studio.core.errors import Refusal
from studio.core.models import Workspace
from studio.core.permissions import can_administer, workspace_for_user

PER_PAGE = 25


def _admin_workspace(request: HttpRequest, slug: str) -> Workspace:
    workspace = workspace_for_user(request.user, slug)  # 404 outside the user's workspaces
    if not can_administer(request.user, workspace):
        raise PermissionDenied(f"Only a workspace admin can manage webhooks in {workspace.name}.")
    return workspace


def _detail_url(endpoint: WebhookEndpoint) -> str:
    return reverse("webhooks:endpoint_detail", args=[endpoint.workspace.slug, endpoint.pk])


def _secret_page(request: HttpRequest, endpoint: WebhookEndpoint, secret: str, *, created: bool) -> HttpResponse:
    response = render(
        request,
        "webhooks/secret_once.html",
        {"workspace": endpoint.workspace, "endpoint": endpoint, "secret": secret, "created": created},
        status=201 if created else 200,
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def endpoint_list(request: HttpRequest, slug: str) -> HttpResponse:
    """The workspace's endpoints, and the form to add one."""
    workspace = _admin_workspace(request, slug)
    form = EndpointForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                endpoint, secret = services.endpoint_create(
                    actor=request.user, workspace=workspace, **form.cleaned_data
                )
            except Refusal as exc:
                for field, message in (exc.field_errors or {None: exc.message}).items():
                    form.add_error(field if field in form.fields else None, message)
            else:
                return _secret_page(request, endpoint, secret, created=True)
        status = 422
    endpoints = list(selectors.endpoints_for(workspace=workspace))
    return render(
        request,
        "webhooks/endpoint_list.html",
        {"workspace": workspace, "endpoints": endpoints, "form": form},
        status=status,
    )


@login_required
@require_GET
def endpoint_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    workspace = _admin_workspace(request, slug)
    endpoint = selectors.endpoint_get(workspace=workspace, pk=pk)
    return _detail(request, endpoint)


def _detail(request: HttpRequest, endpoint: WebhookEndpoint, form: EndpointForm | None = None, status: int = 200):
    page = Paginator(selectors.deliveries_for(endpoint=endpoint), PER_PAGE).get_page(request.GET.get("page"))
    form = form or EndpointForm(
        initial={"url": endpoint.url, "description": endpoint.description, "event_types": endpoint.event_types}
    )
    return render(
        request,
        "webhooks/endpoint_detail.html",
        {"workspace": endpoint.workspace, "endpoint": endpoint, "form": form, "page_obj": page},
        status=status,
    )


@login_required
@require_POST
def endpoint_update(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    workspace = _admin_workspace(request, slug)
    endpoint = selectors.endpoint_get(workspace=workspace, pk=pk)
    form = EndpointForm(request.POST)
    if form.is_valid():
        try:
            services.endpoint_update(actor=request.user, endpoint=endpoint, **form.cleaned_data)
        except Refusal as exc:
            for field, message in (exc.field_errors or {None: exc.message}).items():
                form.add_error(field if field in form.fields else None, message)
        else:
            messages.success(request, "The endpoint was saved.")
            return redirect(_detail_url(endpoint))
    return _detail(request, endpoint, form=form, status=422)


@login_required
@require_POST
def endpoint_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    workspace = _admin_workspace(request, slug)
    endpoint = selectors.endpoint_get(workspace=workspace, pk=pk)
    services.endpoint_delete(actor=request.user, endpoint=endpoint)
    messages.success(request, f"The endpoint {endpoint.url} was removed.")
    return redirect(reverse("webhooks:endpoint_list", args=[workspace.slug]))


@login_required
@require_POST
def endpoint_rotate(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    workspace = _admin_workspace(request, slug)
    endpoint = selectors.endpoint_get(workspace=workspace, pk=pk)
    secret = services.endpoint_secret_rotate(actor=request.user, endpoint=endpoint)
    endpoint.refresh_from_db()
    return _secret_page(request, endpoint, secret, created=False)


@login_required
@require_POST
def endpoint_toggle(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Enable a disabled endpoint, or disable an active one (``action`` = enable / disable)."""
    workspace = _admin_workspace(request, slug)
    endpoint = selectors.endpoint_get(workspace=workspace, pk=pk)
    if request.POST.get("action") == "enable":
        services.endpoint_enable(actor=request.user, endpoint=endpoint)
        messages.success(request, "The endpoint is enabled again.")
    else:
        services.endpoint_disable(actor=request.user, endpoint=endpoint, reason="Disabled by an admin.")
        messages.success(request, "The endpoint is disabled; it receives nothing until you enable it.")
    return redirect(_detail_url(endpoint))


@login_required
@require_POST
def delivery_redeliver(request: HttpRequest, slug: str, pk: int, delivery_pk: int) -> HttpResponse:
    workspace = _admin_workspace(request, slug)
    delivery = selectors.delivery_get(workspace=workspace, endpoint_pk=pk, pk=delivery_pk)
    try:
        services.delivery_redeliver(actor=request.user, delivery=delivery)
    except Refusal as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Delivery {delivery.msg_id} was queued again.")
    return redirect(_detail_url(delivery.endpoint))
