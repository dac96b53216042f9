"""Studio pages: workspaces, campaigns, drafts, generation with live plan and progress, variants, edits.

Views parse input, call one selector or service and render; htmx requests get the template partial.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from studio.core.models import Role
from studio.core.permissions import has_role, workspace_for_user, workspaces_for
from studio.generation import selectors, services
from studio.generation.forms import DraftEditForm, DraftForm, EditForm, GenerateForm
from studio.generation.models import Variant


def _role_context(user, workspace) -> dict:
    return {
        "workspace": workspace,
        "can_generate": has_role(user, workspace, Role.MARKETER),
        "can_review": has_role(user, workspace, Role.BRAND_REVIEWER, Role.COMPLIANCE),
        "can_publish": has_role(user, workspace, Role.MARKETER, Role.BRAND_REVIEWER),
    }


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    workspaces = list(workspaces_for(request.user))
    if len(workspaces) == 1:
        return redirect("studio:workspace", slug=workspaces[0].slug)
    return render(request, "studio/home.html", {"workspaces": workspaces})


@login_required
@require_GET
def workspace_detail(request: HttpRequest, slug: str) -> HttpResponse:
    workspace = workspace_for_user(request.user, slug)
    campaigns = selectors.campaigns_for(workspace=workspace)
    return render(request, "studio/workspace.html", {**_role_context(request.user, workspace), "campaigns": campaigns})


@login_required
@require_http_methods(["GET", "POST"])
def campaign_detail(request: HttpRequest, slug: str, campaign_slug: str) -> HttpResponse:
    workspace = workspace_for_user(request.user, slug)
    campaign = selectors.campaign_get(workspace=workspace, slug=campaign_slug)
    form = DraftForm(request.POST or None, workspace=workspace)
    if request.method == "POST" and form.is_valid():
        try:
            draft = services.draft_create(
                actor=request.user,
                campaign=campaign,
                title=form.cleaned_data["title"],
                text=form.cleaned_data["text"],
                variables=form.cleaned_data["variables"],
                locale_copy=form.cleaned_data["locale_copy"],
                template=form.cleaned_data.get("template"),
            )
        except (PermissionDenied, services.StudioError) as exc:
            messages.error(request, str(exc))
        else:
            return redirect("studio:draft", slug=workspace.slug, pk=draft.pk)
    drafts = Paginator(selectors.drafts_for(campaign=campaign), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "studio/campaign.html",
        {
            **_role_context(request.user, workspace),
            "campaign": campaign,
            "drafts": drafts,
            "page_obj": drafts,
            "form": form,
        },
        status=400 if request.method == "POST" else 200,
    )


def _draft_context(request: HttpRequest, workspace, draft, *, generate_form=None, edit_form=None) -> dict:
    version = draft.versions.order_by("-number").first()
    if generate_form is None:
        initial = {}
        first_format = draft.campaign.formats.order_by("name").first()
        if first_format:
            initial["target_format"] = first_format.pk
        generate_form = GenerateForm(workspace=workspace, campaign=draft.campaign, initial=initial)
    if edit_form is None:
        edit_form = DraftEditForm(
            initial={"text": version.text, "locale_copy": version.locale_copy, "variables": _json(version.variables)}
        )
    return {
        **_role_context(request.user, workspace),
        "draft": draft,
        "campaign": draft.campaign,
        "version": version,
        "versions": draft.versions.order_by("-number")[:10],
        "draft_form": edit_form,
        "generate_form": generate_form,
        "jobs": selectors.jobs_for_draft(draft=draft),
    }


def _json(value) -> str:
    import json

    return json.dumps(value, ensure_ascii=False) if value else ""


@login_required
@require_GET
def draft_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    workspace = workspace_for_user(request.user, slug)
    draft = selectors.draft_get(workspace=workspace, pk=pk)
    return render(request, "studio/draft.html", _draft_context(request, workspace, draft))


@login_required
@require_POST
def draft_save(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    workspace = workspace_for_user(request.user, slug)
    draft = selectors.draft_get(workspace=workspace, pk=pk)
    form = DraftEditForm(request.POST)
    if form.is_valid():
        try:
            version = services.draft_version_add(
                actor=request.user,
                draft=draft,
                text=form.cleaned_data["text"],
                variables=form.cleaned_data["variables"],
                locale_copy=form.cleaned_data["locale_copy"],
            )
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Saved as version {version.number}.")
            return redirect("studio:draft", slug=workspace.slug, pk=draft.pk)
    context = _draft_context(request, workspace, draft, edit_form=form)
    return render(request, "studio/draft.html", context, status=400)


def _launch_request(form: GenerateForm) -> services.LaunchRequest:
    data = form.cleaned_data
    return services.LaunchRequest(
        deployment=data["deployment"],
        target_width=data["width"],
        target_height=data["height"],
        n=data["n"],
        quality=data["quality"],
        output_format=data["output_format"],
        route=data.get("route") or "explicit",
        locale=data.get("locale") or "",
        target_format=data.get("target_format"),
    )


def _offline_font_note(deployment) -> str:
    """Say so when the offline renderer lacks fonts for some scripts (their copy would show as boxes)."""
    from studio.lib.providers.offline import offline_font_coverage, offline_missing_scripts

    return offline_font_coverage() if deployment.is_offline and offline_missing_scripts() else ""


@login_required
@require_GET
def generate_preview(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Live plan + estimate for the generate form (htmx, on change). Reads only; spends nothing."""
    workspace = workspace_for_user(request.user, slug)
    draft = selectors.draft_get(workspace=workspace, pk=pk)
    form = GenerateForm(request.GET, workspace=workspace, campaign=draft.campaign)
    context = {"form": form, "plan": None, "estimate": None, "error": ""}
    if form.is_valid():
        req = _launch_request(form)
        try:
            preview = services.launch_preview(version=draft.versions.order_by("-number").first(), request=req)
        except services.StudioError as exc:
            context["error"] = " ".join([exc.message, *exc.field_errors.values()])
        else:
            context.update(
                plan=preview.plan,
                estimate=preview.estimate,
                remaining=preview.remaining,
                deployment=req.deployment,
                font_note=_offline_font_note(req.deployment),
            )
    else:
        context["error"] = " ".join(str(e) for errors in form.errors.values() for e in errors)
    return render(request, "studio/draft.html#plan", context)


@login_required
@require_POST
def generate(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    workspace = workspace_for_user(request.user, slug)
    draft = selectors.draft_get(workspace=workspace, pk=pk)
    form = GenerateForm(request.POST, workspace=workspace, campaign=draft.campaign)
    error = ""
    if form.is_valid():
        version = draft.versions.order_by("-number").first()
        try:
            job = services.job_launch(actor=request.user, version=version, request=_launch_request(form))
        except services.StudioError as exc:
            error = exc.message
            for field, message in exc.field_errors.items():
                form.add_error(field if field in form.fields else None, message)
        except PermissionDenied as exc:
            error = str(exc)
        else:
            if request.htmx:
                return render(
                    request,
                    "studio/draft.html#job-created",
                    {
                        **_role_context(request.user, workspace),
                        "job": selectors.job_get(workspace=workspace, pk=job.pk),
                        "draft": draft,
                    },
                )
            return redirect("studio:draft", slug=workspace.slug, pk=draft.pk)
    else:
        error = "Please fix the highlighted settings."
    context = _draft_context(request, workspace, draft, generate_form=form)
    context["generate_error"] = error
    if request.htmx:
        response = render(request, "studio/draft.html#generate-form", context, status=422)
        response["HX-Retarget"] = "#generate-panel"
        response["HX-Reswap"] = "outerHTML"
        return response
    return render(request, "studio/draft.html", context, status=422)


@login_required
@require_GET
def job_status(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Polled by the job card while it runs; the fragment stops polling once the job is finished."""
    workspace = workspace_for_user(request.user, slug)
    job = selectors.job_get(workspace=workspace, pk=pk)
    return render(
        request,
        "studio/draft.html#job",
        {**_role_context(request.user, workspace), "job": job, "draft": job.draft_version.draft},
    )


@login_required
@require_GET
def variant_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    workspace = workspace_for_user(request.user, slug)
    variant = selectors.variant_get(workspace=workspace, pk=pk)
    edit_form = None
    fix_comment = selectors.fix_comment_get(variant=variant, comment_id=request.GET.get("fix_comment"))
    if fix_comment is not None:
        edit_form = EditForm(
            workspace=workspace,
            exclude_variant=variant,
            initial={"instruction": fix_comment.text, "mask": _fix_comment_mask(variant, fix_comment)},
        )
    return render(
        request,
        "studio/variant.html",
        _variant_context(request, workspace, variant, edit_form=edit_form, fix_comment=fix_comment),
    )


def _fix_comment_mask(variant: Variant, comment) -> str:
    """The comment's box as the painter's initial mask (a PNG data URL), or "" when the box cannot be
    a mask (it covers the whole image: then the instruction alone is the edit)."""
    import base64

    from studio.lib.uploads import UploadRejected, mask_from_box

    try:
        box = (comment.x, comment.y, comment.w, comment.h)
        png = mask_from_box(width=variant.width, height=variant.height, box=box)
    except UploadRejected:
        return ""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _variant_context(request, workspace, variant: Variant, *, edit_form=None, edit_error="", fix_comment=None) -> dict:
    from approvals.reviews.selectors import approved_review_for
    from studio.safety.selectors import safety_panel_context

    edit_form = edit_form or EditForm(workspace=workspace, exclude_variant=variant)
    initial_mask = edit_form["mask"].value() or ""
    return {
        **_role_context(request.user, workspace),
        **safety_panel_context(variant=variant, verdict=variant.safety_verdict),
        "variant": variant,
        "job": variant.job,
        "lineage": selectors.variant_lineage(variant=variant),
        "children": variant.children.order_by("pk"),
        "edit_form": edit_form,
        # A mask painted before a refused submit, or pre-filled from a "Fix this" comment: the painter
        # starts from it and its section opens, so nothing the marketer marked is lost.
        "initial_mask": initial_mask,
        "fix_comment": fix_comment,
        "localisable_locales": [loc for loc in (variant.job.draft_version.locale_copy or {}) if loc != variant.locale],
        "edit_error": edit_error,
        "open_review": variant.reviews.filter(status="open").first(),
        "approved_review": approved_review_for(variant=variant),
        "publications": variant.publications.select_related("target_format"),
        "hosted_screeners": bool(workspace.safety_screeners),
    }


@login_required
@require_POST
def variant_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Instruction edit, optionally with a painted mask and reference images. The mask and uploads are
    checked by content (size, format, bombs) before anything is stored or sent."""
    from studio.lib.uploads import (
        MASK_MAX_BYTES,
        UploadRejected,
        decode_data_url,
        validate_mask,
        validate_uploaded_file,
    )

    workspace = workspace_for_user(request.user, slug)
    variant = selectors.variant_get(workspace=workspace, pk=pk)
    form = EditForm(request.POST, request.FILES, workspace=workspace, exclude_variant=variant)
    error = ""
    if form.is_valid():
        try:
            mask_png = None
            if form.cleaned_data["mask"]:
                mask_png = validate_mask(
                    decode_data_url(form.cleaned_data["mask"], max_bytes=MASK_MAX_BYTES),
                    width=variant.width,
                    height=variant.height,
                )
            uploads = [validate_uploaded_file(upload).data for upload in form.cleaned_data["reference_files"]]
            job = services.variant_edit(
                actor=request.user,
                variant=variant,
                instruction=form.cleaned_data["instruction"],
                mask_png=mask_png,
                references=list(form.cleaned_data["reference_variants"]),
                reference_uploads=uploads,
            )
        except UploadRejected as exc:
            error = exc.message
        except services.StudioError as exc:
            error = exc.message + "".join(f" {message}" for message in exc.field_errors.values())
        except PermissionDenied as exc:
            error = str(exc)
        else:
            url = reverse("studio:draft", kwargs={"slug": workspace.slug, "pk": variant.draft_id}) + f"#job-{job.pk}"
            messages.success(request, "Edit started: the new version will appear below with its parent.")
            if request.htmx:
                return HttpResponseClientRedirect(url)
            return redirect(url)
    else:
        error = "Please fix the highlighted fields."
    context = _variant_context(request, workspace, variant, edit_form=form, edit_error=error)
    return render(request, "studio/variant.html", context, status=422)


@login_required
@require_GET
def compare(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Compare two versions of the same draft: side by side, slider, pixel difference, synced zoom."""
    workspace = workspace_for_user(request.user, slug)
    left = selectors.variant_get(workspace=workspace, pk=pk)
    other = request.GET.get("with", "")
    candidates = list(left.draft.variants.exclude(pk=left.pk).order_by("-created_at")[:50])
    if other.isdigit():
        right = selectors.variant_get(workspace=workspace, pk=int(other))
        if right.draft_id != left.draft_id:
            raise Http404("Only versions of the same draft can be compared")
    else:
        right = left.parents.order_by("pk").first() or (candidates[0] if candidates else None)
    return render(
        request,
        "studio/compare.html",
        {
            **_role_context(request.user, workspace),
            "left": left,
            "right": right,
            "candidates": candidates,
        },
    )


@login_required
@require_GET
def draft_tree(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    workspace = workspace_for_user(request.user, slug)
    draft = selectors.draft_get(workspace=workspace, pk=pk)
    return render(
        request,
        "studio/tree.html",
        {
            **_role_context(request.user, workspace),
            "draft": draft,
            "campaign": draft.campaign,
            "roots": selectors.draft_tree(draft=draft),
        },
    )


@login_required
@require_POST
def job_rerun(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    workspace = workspace_for_user(request.user, slug)
    job = selectors.job_get(workspace=workspace, pk=pk)
    try:
        rerun = services.job_rerun(actor=request.user, job=job)
    except (services.StudioError, PermissionDenied) as exc:
        messages.error(request, getattr(exc, "message", str(exc)))
        return redirect("studio:draft", slug=workspace.slug, pk=job.draft_version.draft_id)
    messages.success(request, "Re-running with exactly the same settings: the result appears as a sibling.")
    return redirect(
        reverse("studio:draft", kwargs={"slug": workspace.slug, "pk": job.draft_version.draft_id}) + f"#job-{rerun.pk}"
    )


@login_required
@require_POST
def variant_localise(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    workspace = workspace_for_user(request.user, slug)
    variant = selectors.variant_get(workspace=workspace, pk=pk)
    locales = [loc for loc in request.POST.getlist("locales") if loc]
    try:
        jobs = services.variant_localise(actor=request.user, variant=variant, locales=locales)
    except (services.StudioError, PermissionDenied) as exc:
        messages.error(request, getattr(exc, "message", str(exc)))
        return redirect("studio:variant", slug=workspace.slug, pk=variant.pk)
    messages.success(request, f"Started {len(jobs)} localised version{'s' if len(jobs) != 1 else ''}.")
    return redirect("studio:draft", slug=workspace.slug, pk=variant.draft_id)


@login_required
@require_GET
def draft_version_diff(request: HttpRequest, slug: str, pk: int, number: int) -> HttpResponse:
    """Word-level changes from version ``number - 1`` to ``number`` of a draft (a page, or the fragment
    shown inside the draft page's history when asked through htmx)."""
    workspace = workspace_for_user(request.user, slug)
    draft = selectors.draft_get(workspace=workspace, pk=pk)
    context = {
        **_role_context(request.user, workspace),
        "draft": draft,
        "campaign": draft.campaign,
        "diff": selectors.draft_version_diff(draft=draft, number=number),
    }
    template = "studio/partials/version_diff.html" if request.htmx else "studio/version_diff.html"
    return render(request, template, context)


@login_required
@require_GET
def styleguide(request: HttpRequest) -> HttpResponse:
    return render(request, "styleguide.html")
