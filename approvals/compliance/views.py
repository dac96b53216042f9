"""The compliance auditor's pages: the audit log (filter, verify, export) and one asset's decision trail
(page, JSON, audit pack zip).

Views parse input, call a selector and render. Reading the log is open to compliance auditors and
workspace admins; everyone else gets a 403 page that says why. Downloads of audit data are themselves
recorded in the audit log: who took a copy of the evidence, and when, is part of the evidence.
"""

from __future__ import annotations

import tempfile

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from approvals.compliance.exports import (
    EXPORT_FORMATS,
    AuditFilter,
    PackFile,
    export_filename,
    export_response,
    write_audit_pack,
)
from approvals.compliance.selectors import (
    AssetTrail,
    asset_trail,
    asset_trail_json,
    audit_log,
    auditor_workspaces_required,
)
from studio.core.audit import audit_append, audit_verify
from studio.core.models import Workspace

LOG_PAGE_SIZE = 50


class AuditFilterForm(forms.Form):
    """Shape of the log filters only; which workspaces a user may see is decided by the selector."""

    workspace = forms.ChoiceField(required=False, label="Workspace")
    action = forms.CharField(
        required=False,
        max_length=80,
        label="Action starts with",
        help_text="For example approvals.review. or studio.job.",
    )
    actor = forms.CharField(
        required=False, max_length=150, label="Person", help_text="Name or username; system for automatic steps."
    )
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    subject_type = forms.CharField(
        required=False, max_length=60, label="Subject type", help_text="For example studio.variant"
    )
    subject_id = forms.CharField(required=False, max_length=64, label="Subject id")

    def __init__(self, *args, workspaces: list[Workspace], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.workspaces = {ws.slug: ws for ws in workspaces}
        self.fields["workspace"].choices = [("", "All my workspaces")] + [(ws.slug, ws.name) for ws in workspaces]

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return data

    def to_filter(self) -> AuditFilter:
        data: dict = {}
        if self.is_bound:
            self.is_valid()  # valid fields still filter when another is wrong (that one shows its error)
            data = self.cleaned_data
        workspace = self.workspaces.get(data.get("workspace") or "")
        return AuditFilter(
            workspace_ids=(workspace.pk,) if workspace else tuple(ws.pk for ws in self.workspaces.values()),
            since=data.get("since"),
            until=data.get("until"),
            action=data.get("action", ""),
            actor=data.get("actor", ""),
            subject_type=data.get("subject_type", ""),
            subject_id=data.get("subject_id", ""),
        )


def _denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return render(request, "compliance/denied.html", {"message": str(exc)}, status=403)


def _filter_form(request: HttpRequest, workspaces: list[Workspace]) -> AuditFilterForm:
    return AuditFilterForm(request.GET or None, workspaces=workspaces)


def _log_context(request: HttpRequest, workspaces: list[Workspace]) -> dict:
    form = _filter_form(request, workspaces)
    filters = form.to_filter()
    events = audit_log(workspaces=workspaces, filters=filters)
    page_obj = Paginator(events, LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    selected = [ws for ws in workspaces if ws.pk in (filters.workspace_ids or ())]
    return {
        "form": form,
        "page_obj": page_obj,
        "events": page_obj.object_list,
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
    except PermissionDenied as exc:
        return _denied(request, exc)
    return render(request, "compliance/log.html", _log_context(request, workspaces))


@login_required
@require_POST
def verify(request: HttpRequest) -> HttpResponse:
    """Walk the chain(s) now. Slow on a big log, so it runs only when asked, never on page load.
    htmx gets the status fragment; a plain form post gets the whole log page with the result on top."""
    try:
        workspaces = auditor_workspaces_required(user=request.user)
    except PermissionDenied as exc:
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
    except PermissionDenied as exc:
        return _denied(request, exc)
    fmt = request.GET.get("format", "csv")
    if fmt not in EXPORT_FORMATS:
        return HttpResponse("Choose csv or json.", status=400, content_type="text/plain")
    form = _filter_form(request, workspaces)
    filters = form.to_filter()
    for ws in workspaces:
        if ws.pk in filters.workspace_ids:
            audit_append(
                workspace=ws,
                actor=request.user,
                action="compliance.log.exported",
                subject=ws,
                data={"format": fmt, "filters": {k: v for k, v in request.GET.items() if k != "page"}},
            )
    ids = filters.workspace_ids or ()
    by_pk = {ws.pk: ws for ws in workspaces}
    stem = f"audit-log-{by_pk[ids[0]].slug}" if len(ids) == 1 else "audit-log"
    return export_response(filters=filters, fmt=fmt, filename=export_filename(stem=stem, fmt=fmt))


def _trail_or_error(request: HttpRequest, pk: int) -> AssetTrail | HttpResponse:
    try:
        return asset_trail(user=request.user, variant_id=pk)
    except PermissionDenied as exc:
        return _denied(request, exc)


@login_required
@require_GET
def trail(request: HttpRequest, pk: int) -> HttpResponse:
    found = _trail_or_error(request, pk)
    if isinstance(found, HttpResponse):
        return found
    return render(request, "compliance/trail.html", {"trail": found, "workspace": found.workspace})


@login_required
@require_GET
def trail_json(request: HttpRequest, pk: int) -> HttpResponse:
    found = _trail_or_error(request, pk)
    if isinstance(found, HttpResponse):
        return found
    response = JsonResponse(asset_trail_json(found), json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = f'inline; filename="variant-{pk}-trail.json"'
    return response


@login_required
@require_GET
def audit_pack(request: HttpRequest, pk: int) -> HttpResponse:
    """The evidence for one asset as a zip, spooled to a temp file (never held in memory)."""
    found = _trail_or_error(request, pk)
    if isinstance(found, HttpResponse):
        return found
    files: list[PackFile] = []
    for number, version in enumerate(found.versions, start=1):
        v = version.variant
        files.append(
            PackFile(
                f"versions/{number:02d}-variant-{v.pk}.{v.format or 'png'}", v.image.storage, v.image.name, v.sha256
            )
        )
        for pub in version.publications:
            if pub.file:
                files.append(
                    PackFile(
                        f"publications/variant-{v.pk}-publication-{pub.pk}-{pub.width}x{pub.height}.{pub.file_format}",
                        pub.file.storage,
                        pub.file.name,
                        pub.sha256,
                    )
                )
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes (and so deletes) it
    manifest = write_audit_pack(files=files, trail_json=asset_trail_json(found), out=spool)
    spool.seek(0)
    audit_append(
        workspace=found.workspace,
        actor=request.user,
        action="compliance.audit_pack.downloaded",
        subject=found.variant,
        data={"files": len(manifest["files"]), "missing": len(manifest["missing"])},
    )
    return FileResponse(
        spool, as_attachment=True, filename=f"variant-{pk}-audit-pack.zip", content_type="application/zip"
    )
