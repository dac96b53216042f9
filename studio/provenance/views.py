"""The workspace admins' Content Credentials page (``/w/<slug>/settings/content-credentials/``): what
certificate signs the workspace's publications, upload a new one, remove it. Members who are not admins
get 403; other workspaces 404 (``workspace_for_user``). The private key never reaches this page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from studio.core.errors import Refusal
from studio.core.permissions import RoleRequired, can_administer, workspace_for_user
from studio.provenance import selectors, services
from studio.provenance.forms import SigningCredentialForm


def _admin_workspace(request: HttpRequest, slug: str):
    workspace = workspace_for_user(request.user, slug)
    if not can_administer(request.user, workspace):
        raise RoleRequired(f"Only a workspace admin can manage the Content Credentials of {workspace.name}.")
    return workspace


def credentials_url(workspace) -> str:
    return reverse("provenance:credentials", kwargs={"slug": workspace.slug})


@login_required
@require_http_methods(["GET", "POST"])
def credentials(request: HttpRequest, slug: str) -> HttpResponse:
    workspace = _admin_workspace(request, slug)
    form = SigningCredentialForm()
    status = 200
    if request.method == "POST":
        form = SigningCredentialForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                services.signing_credential_save(
                    actor=request.user,
                    workspace=workspace,
                    certificate_chain=form.cleaned_data["certificate_chain"],
                    private_key_env=form.cleaned_data["private_key_env"],
                )
            except Refusal as exc:
                for field, message in exc.field_errors.items():
                    form.add_error("certificate_file" if field == "certificate" else field, message)
                if not exc.field_errors:
                    form.add_error(None, exc.message)
            else:
                messages.success(request, "Content Credentials certificate saved: new publications are signed with it.")
                return redirect(credentials_url(workspace))
        status = 422
    credential = selectors.signing_credential_for(workspace)
    context = {
        "workspace": workspace,
        "credential": credential,
        "expired": credential is not None and credential.not_valid_after < timezone.now(),
        "form": form,
    }
    return render(request, "provenance/credentials.html", context, status=status)


@login_required
@require_POST
def credentials_remove(request: HttpRequest, slug: str) -> HttpResponse:
    workspace = _admin_workspace(request, slug)
    services.signing_credential_remove(actor=request.user, workspace=workspace)
    messages.success(request, "Content Credentials certificate removed: new publications are unsigned.")
    return redirect(credentials_url(workspace))
