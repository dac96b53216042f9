"""A variant's page and what starts from it: edits (with a mask and references, or from a "Fix this"
comment) and localised versions. Review state on the page comes from the apps above through
``studio.generation.extensions``.

After an edit or a localisation the marketer stays with the work (issue 14): the page they started from
shows the new jobs' progress in place (``?started=<job ids>``, polled through ``variant_progress``), and a
single edit lands on its new version once it is stored (static/js/job-progress.js)."""

from __future__ import annotations

import base64

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from studio.core.permissions import workspace_for_user
from studio.generation import extensions, selectors, services
from studio.generation.forms import EditForm
from studio.generation.models import Operation, Variant, VariantStatus
from studio.generation.services.launch import QUEUE_UNREACHABLE, queue_unreachable
from studio.generation.views.common import REFUSED, refusal_words, role_context
from studio.generation.views.generate import poll_delay
from studio.lib.ids import parse_count, parse_ids
from studio.lib.imaging import (
    MASK_MAX_BYTES,
    UploadRejected,
    decode_data_url,
    mask_from_box,
    validate_mask,
    validate_uploaded_file,
)
from studio.safety.selectors import safety_panel_context


@login_required
@require_GET
def variant_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    workspace = workspace_for_user(request.user, slug)
    variant = selectors.variant_get(workspace=workspace, pk=pk)
    edit_form = None
    fix_comment = extensions.fix_comment_lookup(variant, request.GET.get("fix_comment"))
    if fix_comment is not None:
        edit_form = EditForm(
            workspace=workspace,
            exclude_variant=variant,
            initial={"instruction": fix_comment.text, "mask": _fix_comment_mask(variant, fix_comment)},
        )
    context = _variant_context(request, workspace, variant, edit_form=edit_form, fix_comment=fix_comment)
    context.update(_progress_context(workspace, variant, request.GET.get("started", "")))
    # The safety notice polls this page until the check is done, backing off like the job cards (a check
    # that is never answered waits for the sweeper's re-screen, 20 minutes on).
    pending_poll = parse_count(request.GET.get("pending_poll"), cap=100)
    context.update(pending_poll_next=pending_poll + 1, pending_poll_delay=poll_delay(pending_poll))
    fix_note = context.get("fix_note")  # "Fix this" on a reviewer's reason (from the review app's panel)
    if fix_comment is None and fix_note is not None:
        context["edit_form"] = EditForm(
            workspace=workspace, exclude_variant=variant, initial={"instruction": fix_note.note}
        )
    return render(request, "studio/variant.html", context)


def _fix_comment_mask(variant: Variant, comment) -> str:
    """The comment's box as the painter's initial mask (a PNG data URL), or "" when the box cannot be
    a mask (it covers the whole image: then the instruction alone is the edit)."""
    try:
        box = (comment.x, comment.y, comment.w, comment.h)
        png = mask_from_box(width=variant.width, height=variant.height, box=box)
    except UploadRejected:
        return ""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _variant_context(request, workspace, variant: Variant, *, edit_form=None, edit_error="", fix_comment=None) -> dict:
    """The variant page. Review state (``open_review``, ``approved_review``, ``publications``) comes from
    the apps above through ``extensions.variant_context``; without them the page shows none."""
    edit_form = edit_form or EditForm(workspace=workspace, exclude_variant=variant)
    initial_mask = edit_form["mask"].value() or ""
    return {
        **role_context(request.user, workspace),
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
        **_locales(variant),
        "edit_error": edit_error,
        "open_review": None,
        "approved_review": None,
        "publications": [],
        "hosted_screeners": bool(workspace.safety_screeners),
        **extensions.variant_context(request, variant),
    }


MAX_STARTED = 20  # more ids than any localisation makes at once; the rest of the query string is ignored


def _started_ids(raw: str) -> list[int]:
    return parse_ids(raw.split(",")[:MAX_STARTED])


def _progress_context(workspace, variant: Variant, raw_ids: str, *, poll: int = 0) -> dict:
    """The jobs just started from this variant and their results so far. ``land`` is the one new version
    of a single edit once it is stored: the page moves there (the localisations stay in place, as a set)."""
    jobs = selectors.jobs_started_from(workspace=workspace, variant=variant, pks=_started_ids(raw_ids))
    results = [v for job in jobs for v in job.variants.all()]
    single_edit = len(jobs) == 1 and jobs[0].operation != Operation.LOCALISE
    return {
        "started_jobs": jobs,
        "started_ids": ",".join(str(job.pk) for job in jobs),
        "started_results": results,
        "started_awaiting": any(job.awaiting_updates for job in jobs),
        "started_done": all(job.is_terminal for job in jobs),
        "started_localise": any(job.operation == Operation.LOCALISE for job in jobs),
        "land": results[0] if single_edit and jobs[0].is_terminal and len(results) == 1 else None,
        "poll_next": poll + 1,
        "poll_delay": poll_delay(poll),
    }


@login_required
@require_GET
def variant_progress(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Polled by the variant page's progress card (backing off like the draft page's job cards); the
    fragment stops polling once every job is finished and its images are through the safety check."""
    workspace = workspace_for_user(request.user, slug)
    variant = selectors.variant_get(workspace=workspace, pk=pk)
    poll = parse_count(request.GET.get("poll"), cap=100)
    context = {
        **role_context(request.user, workspace),
        "variant": variant,
        **_progress_context(workspace, variant, request.GET.get("started", ""), poll=poll),
    }
    return render(request, "studio/variant.html#progress", context)


def _started_url(workspace, variant: Variant, jobs) -> str:
    """Back to the page the marketer started from, with the new jobs' progress shown in place."""
    ids = ",".join(str(job.pk) for job in jobs)
    return (
        reverse("studio:variant", kwargs={"slug": workspace.slug, "pk": variant.pk}) + f"?started={ids}#edit-progress"
    )


def _locales(variant: Variant) -> dict:
    """The locales the draft has copy for, split into those still to make (offered, checked) and those
    that already have a localised version of this image (named, not offered again)."""
    wanted = [loc for loc in (variant.job.draft_version.locale_copy or {}) if loc != variant.locale]
    made = set(
        variant.children.filter(operation=Operation.LOCALISE, locale__in=wanted)
        .exclude(status=VariantStatus.SUPERSEDED)
        .values_list("locale", flat=True)
    )
    return {
        "localisable_locales": [loc for loc in wanted if loc not in made],
        "localised_locales": [loc for loc in wanted if loc in made],
    }


@login_required
@require_POST
def variant_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Instruction edit, optionally with a painted mask and reference images. The mask and uploads are
    checked by content (size, format, bombs) before anything is stored or sent."""
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
        except REFUSED as exc:
            error = refusal_words(exc, with_fields=True)
        else:
            url = _started_url(workspace, variant, [job])
            messages.success(request, "Edit started: the new version opens here as soon as it is ready.")
            if queue_unreachable(job):  # committed and reserved; it starts when the broker is back
                messages.warning(request, QUEUE_UNREACHABLE)
            if request.htmx:
                return HttpResponseClientRedirect(url)
            return redirect(url)
    else:
        error = form.error_summary()
    context = _variant_context(request, workspace, variant, edit_form=form, edit_error=error)
    return render(request, "studio/variant.html", context, status=422)


@login_required
@require_POST
def variant_localise(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    workspace = workspace_for_user(request.user, slug)
    variant = selectors.variant_get(workspace=workspace, pk=pk)
    locales = [loc for loc in request.POST.getlist("locales") if loc]
    try:
        jobs = services.variant_localise(actor=request.user, variant=variant, locales=locales)
    except REFUSED as exc:
        messages.error(request, refusal_words(exc))
        return redirect("studio:variant", slug=workspace.slug, pk=variant.pk)
    messages.success(
        request, f"Started {len(jobs)} localised version{'s' if len(jobs) != 1 else ''}: they appear here as they land."
    )
    if any(queue_unreachable(job) for job in jobs):
        messages.warning(request, QUEUE_UNREACHABLE)
    return redirect(_started_url(workspace, variant, jobs))
