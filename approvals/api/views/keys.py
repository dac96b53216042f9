"""The API keys page of a workspace's settings: list, create (the key shown once, on the answer to the
form, never again) and revoke. Workspace admins only; everyone else gets the site's 403."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from approvals.api import keys as key_services
from approvals.api.inputs import KeyCreateForm
from approvals.api.models import ApiKey, ApiScope
from studio.core.errors import Refusal
from studio.core.models import Role
from studio.core.permissions import RoleRequired, can_administer, members_with_role, workspace_for_user

KEYS_SHOWN = 100


def _admin_workspace(request: HttpRequest, slug: str):
    workspace = workspace_for_user(request.user, slug)
    if not can_administer(request.user, workspace):
        raise RoleRequired(f"Only a workspace admin can manage API keys in {workspace.name}.")
    return workspace


def _context(workspace, **extra) -> dict:
    keys = list(
        ApiKey.objects.filter(workspace=workspace)
        .select_related("user", "created_by")
        .order_by("-created_at", "-pk")[:KEYS_SHOWN]
    )
    return {
        "workspace": workspace,
        "keys": keys,
        "members": list(members_with_role(workspace, Role.values).order_by("username")),
        "scopes": ApiScope.choices,
        **extra,
    }


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def key_list(request: HttpRequest, slug: str) -> HttpResponse:
    workspace = _admin_workspace(request, slug)
    if request.method == "GET":
        return render(request, "api/keys.html", _context(workspace))
    data = {
        "name": request.POST.get("name", ""),
        "user": request.POST.get("user", ""),
        "scopes": request.POST.getlist("scopes"),
    }
    if request.POST.get("expires_at"):
        data["expires_at"] = request.POST["expires_at"]
    form = KeyCreateForm(data=data)
    error, issued = "", None
    if form.is_valid():
        values = form.validated_data
        user = members_with_role(workspace, Role.values).filter(pk=values["user"]).first()
        if user is None:
            error = "Choose a member of this workspace for the key to act as."
        else:
            try:
                issued = key_services.apikey_create(
                    actor=request.user,
                    workspace=workspace,
                    user=user,
                    name=values["name"],
                    scopes=sorted(values["scopes"]),
                    expires_at=values.get("expires_at"),
                )
            except Refusal as exc:
                error = exc.message
    else:
        error = "Please check the form: " + " ".join(
            f"{field}: {' '.join(str(m) for m in msgs)}" for field, msgs in form.errors.items()
        )
    # never_cache: the page that shows the key once must not be kept by any cache or the back button.
    status = 201 if issued else 422
    return render(request, "api/keys.html", _context(workspace, issued=issued, error=error), status=status)


@login_required
@require_POST
def key_revoke(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    workspace = _admin_workspace(request, slug)
    key = get_object_or_404(ApiKey, workspace=workspace, pk=pk)
    try:
        key_services.apikey_revoke(actor=request.user, key=key)
    except Refusal as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Revoked “{key.name}” ({key.prefix}…). Requests with it now answer 401.")
    return redirect("api_keys:list", slug=workspace.slug)
