"""The compliance auditor's pages: the audit log (filter, verify, export) and one asset's decision trail
(page, JSON, audit pack zip).

Views parse input, call a selector or a service and render. Reading the log is open to compliance
auditors and workspace admins (``studio.core.permissions.can_read_audit``); everyone else gets a 403
page that says why. Downloads are recorded in the audit log by the services: who took a copy of the
evidence, and when, is part of the evidence.

The log at ``/compliance/`` spans every workspace the person audits (it filters by workspace); one
asset's trail is a workspace page under ``/w/<slug>/compliance/``, and the URLs from before that scheme
redirect after a lookup scoped to the user.
"""

from __future__ import annotations

import tempfile

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from approvals.compliance import services
from approvals.compliance.exports import EXPORT_FORMATS, export_filename, streaming_export
from approvals.compliance.forms import AuditFilterForm
from approvals.compliance.log import log_entries
from approvals.compliance.selectors import audit_log, auditor_workspaces_required, log_people, scoped_filter
from approvals.compliance.trails import AssetTrail, asset_trail, asset_trail_json, trail_variant_for_user
from studio.core.audit import audit_verify
from studio.core.errors import Forbidden, refusal_message
from studio.core.models import Workspace
from studio.core.permissions import workspace_for_user

LOG_PAGE_SIZE = 50


def _denied(request: HttpRequest, exc: Exception) -> HttpResponse:
    return render(request, "compliance/denied.html", {"message": refusal_message(exc)}, status=403)


def _filter_form(request: HttpRequest, workspaces: list[Workspace]) -> AuditFilterForm:
    return AuditFilterForm(request.GET or None, workspaces=workspaces, people=log_people(workspaces=workspaces))


def _log_context(request: HttpRequest, workspaces: list[Workspace]) -> dict:
    form = _filter_form(request, workspaces)
    filters = form.to_filter()
    page_obj = Paginator(audit_log(workspaces=workspaces, filters=filters), LOG_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    selected = [ws for ws in workspaces if ws.pk in (filters.workspace_ids or ())]
    return {
        "form": form,
        "page_obj": page_obj,
        "events": page_obj.object_list,
        "entries": log_entries(page_obj.object_list),
        "workspaces": workspaces,
        "verify_workspaces": selected,
        "filtered": form.is_bound and not filters.is_empty,
        "export_query": request.GET.urlencode(),
    }


@login_required
@require_GET
def log(request: HttpRequest) -> HttpResponse:
    try:
        workspaces = auditor_workspaces_required(user=request.user)
    except Forbidden as exc:
        return _denied(request, exc)
    return render(request, "compliance/log.html", _log_context(request, workspaces))


@login_required
@require_POST
def verify(request: HttpRequest) -> HttpResponse:
    """Walk the chain(s) now. Slow on a big log, so it runs only when asked, never on page load.
    htmx gets the status fragment; a plain form post gets the whole log page with the result on top."""
    try:
        workspaces = auditor_workspaces_required(user=request.user)
    except Forbidden as exc:
        return _denied(request, exc)
    slugs = set(request.POST.getlist("workspace"))
    chosen = [ws for ws in workspaces if ws.slug in slugs] or workspaces
    results = [(ws, audit_verify(workspace=ws)) for ws in chosen]
    context = {"results": results, "verified": True}
    if getattr(request, "htmx", False):
        return render(request, "compliance/log.html#verify-status", {**context, "verify_workspaces": chosen})
    return render(
        request, "compliance/log.html", {**_log_context(request, workspaces), **context, "verify_workspaces": chosen}
    )


@login_required
@require_GET
def export(request: HttpRequest) -> HttpResponse:
    try:
        workspaces = auditor_workspaces_required(user=request.user)
    except Forbidden as exc:
        return _denied(request, exc)
    fmt = request.GET.get("format", "csv")
    if fmt not in EXPORT_FORMATS:
        return HttpResponse("Choose csv or json.", status=400, content_type="text/plain")
    filters = scoped_filter(workspaces=workspaces, filters=_filter_form(request, workspaces).to_filter())
    try:
        rows = services.audit_log_export(
            actor=request.user,
            workspaces=workspaces,
            filters=filters,
            fmt=fmt,
            query={k: v for k, v in request.GET.items() if k != "page"},
        )
    except Forbidden as exc:
        return _denied(request, exc)
    ids = filters.workspace_ids or ()
    by_pk = {ws.pk: ws for ws in workspaces}
    stem = f"audit-log-{by_pk[ids[0]].slug}" if len(ids) == 1 else "audit-log"
    return streaming_export(rows, fmt=fmt, filename=export_filename(stem=stem, fmt=fmt))


# --- one asset's decision trail ------------------------------------------------------------------------


def _trail_or_error(request: HttpRequest, slug: str, pk: int) -> AssetTrail | HttpResponse:
    workspace = workspace_for_user(request.user, slug)
    try:
        return asset_trail(user=request.user, variant_id=pk, workspace=workspace)
    except Forbidden as exc:
        return _denied(request, exc)


@login_required
@require_GET
def trail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    found = _trail_or_error(request, slug, pk)
    if isinstance(found, HttpResponse):
        return found
    return render(request, "compliance/trail.html", {"trail": found, "workspace": found.workspace})


@login_required
@require_GET
def trail_json(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    found = _trail_or_error(request, slug, pk)
    if isinstance(found, HttpResponse):
        return found
    response = JsonResponse(asset_trail_json(found), json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = f'inline; filename="variant-{pk}-trail.json"'
    return response


@login_required
@require_GET
def audit_pack(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """The evidence for one asset as a zip, spooled to a temp file (never held in memory)."""
    found = _trail_or_error(request, slug, pk)
    if isinstance(found, HttpResponse):
        return found
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes (and so deletes) it
    try:
        services.audit_pack_write(actor=request.user, trail=found, out=spool)
    except Forbidden as exc:
        spool.close()
        return _denied(request, exc)
    spool.seek(0)
    return FileResponse(
        spool, as_attachment=True, filename=f"variant-{pk}-audit-pack.zip", content_type="application/zip"
    )


# --- the URLs from before the workspace scheme ---------------------------------------------------------


def _moved(request: HttpRequest, name: str, pk: int) -> HttpResponse:
    """301 to the workspace-scoped URL, keeping the query; 404 where the new URL would answer 404."""
    variant = trail_variant_for_user(user=request.user, variant_id=pk)
    target = reverse(name, args=[variant.workspace.slug, variant.pk])
    query = request.META.get("QUERY_STRING", "")
    return HttpResponsePermanentRedirect(f"{target}?{query}" if query else target)


@login_required
@require_GET
def legacy_trail(request: HttpRequest, pk: int) -> HttpResponse:
    return _moved(request, "compliance:trail", pk)


@login_required
@require_GET
def legacy_trail_json(request: HttpRequest, pk: int) -> HttpResponse:
    return _moved(request, "compliance:trail_json", pk)


@login_required
@require_GET
def legacy_audit_pack(request: HttpRequest, pk: int) -> HttpResponse:
    return _moved(request, "compliance:audit_pack", pk)
