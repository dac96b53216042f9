"""Generating: the live plan and estimate, launching a job, its progress, and re-running it exactly.

Views parse input, call one selector or service and render; htmx requests get the template partial."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from studio.core.permissions import workspace_for_user
from studio.generation import selectors, services
from studio.generation.forms import GenerateForm
from studio.generation.services.breaker import breaker_warning
from studio.generation.services.launch import QUEUE_UNREACHABLE, queue_unreachable
from studio.generation.views.common import REFUSED, draft_context, refusal_words, role_context
from studio.lib.ids import parse_count
from studio.lib.providers import offline


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
    return offline.offline_font_coverage() if deployment.is_offline and offline.offline_missing_scripts() else ""


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
        except REFUSED as exc:
            context["error"] = " ".join([refusal_words(exc), *getattr(exc, "field_errors", {}).values()])
        else:
            context.update(
                plan=preview.plan,
                estimate=preview.estimate,
                remaining=preview.remaining,
                deployment=req.deployment,
                font_note=_offline_font_note(req.deployment),
                # Before anything is spent: the deployment's breaker is open (its calls keep failing).
                breaker_warning=breaker_warning(req.deployment),
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
        except REFUSED as exc:
            error = refusal_words(exc)
            for field, message in getattr(exc, "field_errors", {}).items():
                form.add_error(field if field in form.fields else None, message)
        else:
            # The job is committed and reserved either way; a broker outage only delays its start.
            queue_notice = QUEUE_UNREACHABLE if queue_unreachable(job) else ""
            if request.htmx:
                return render(
                    request,
                    "studio/draft.html#job-created",
                    {
                        **role_context(request.user, workspace),
                        "job": selectors.job_get(workspace=workspace, pk=job.pk),
                        "draft": draft,
                        "queue_notice": queue_notice,
                    },
                    status=202 if queue_notice else 200,
                )
            if queue_notice:
                messages.warning(request, queue_notice)
            return redirect("studio:draft", slug=workspace.slug, pk=draft.pk)
    else:
        error = "Please fix the highlighted settings."
    context = draft_context(request, workspace, draft, generate_form=form)
    context["generate_error"] = error
    if request.htmx:
        response = render(request, "studio/draft.html#generate-form", context, status=422)
        response["HX-Retarget"] = "#generate-panel"
        response["HX-Reswap"] = "outerHTML"
        return response
    return render(request, "studio/draft.html", context, status=422)


POLL_FAST = 5  # polls at one second before backing off
POLL_MAX_SECONDS = 15


def poll_delay(poll: int) -> int:
    """Seconds before the job card's next poll: every second at first, then doubling up to 15 s, so a
    job waiting for a worker (or a broker) does not cost a request a second for as long as the tab is open."""
    if poll < POLL_FAST:
        return 1
    return min(POLL_MAX_SECONDS, 2 ** (poll - POLL_FAST + 1))


@login_required
@require_GET
def job_status(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Polled by the job card while it runs (backing off, see ``poll_delay``); the fragment stops
    polling once the job is finished."""
    workspace = workspace_for_user(request.user, slug)
    job = selectors.job_get(workspace=workspace, pk=pk)
    poll = parse_count(request.GET.get("poll"), cap=100)
    return render(
        request,
        "studio/draft.html#job",
        {
            **role_context(request.user, workspace),
            "job": job,
            "draft": job.draft_version.draft,
            "poll_next": poll + 1,
            "poll_delay": poll_delay(poll),
        },
    )


@login_required
@require_POST
def job_rerun(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    workspace = workspace_for_user(request.user, slug)
    job = selectors.job_get(workspace=workspace, pk=pk)
    try:
        rerun = services.job_rerun(actor=request.user, job=job)
    except REFUSED as exc:
        messages.error(request, refusal_words(exc))
        return redirect("studio:draft", slug=workspace.slug, pk=job.draft_version.draft_id)
    messages.success(request, "Re-running with exactly the same settings: the result appears as a sibling.")
    if queue_unreachable(rerun):
        messages.warning(request, QUEUE_UNREACHABLE)
    return redirect(
        reverse("studio:draft", kwargs={"slug": workspace.slug, "pk": job.draft_version.draft_id}) + f"#job-{rerun.pk}"
    )
