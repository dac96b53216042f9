"""Production run pages: plan (the grid before spending), launch, the run with live progress, cancel, retry.

Views parse input, call one selector or service and render; htmx requests get the template partial, and a
refusal answers with its words and a 4xx status (the page shows htmx error answers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from studio.core.errors import Refusal
from studio.core.models import Role
from studio.core.money import money_text as money
from studio.core.permissions import has_role, workspace_for_user
from studio.generation import selectors as studio_selectors
from studio.generation.views.common import REFUSED, refusal_words
from studio.lib.ids import parse_count, parse_id
from studio.runs import selectors, services
from studio.runs.forms import RunForm
from studio.runs.planning import run_plan

SINCE_MARGIN = timedelta(seconds=5)
POLL_FAST = 10  # polls every 2 s before backing off (reset whenever a cell lands)
POLL_MAX_SECONDS = 12


def poll_delay(poll: int) -> int:
    if poll < POLL_FAST:
        return 2
    return min(POLL_MAX_SECONDS, 2 ** (poll - POLL_FAST + 2))


def _base(request: HttpRequest, workspace) -> dict:
    return {"workspace": workspace, "can_generate": has_role(request.user, workspace, Role.MARKETER)}


@login_required
@require_GET
def run_list(request: HttpRequest, slug: str, campaign_slug: str) -> HttpResponse:
    workspace = workspace_for_user(request.user, slug)
    campaign = studio_selectors.campaign_get(workspace=workspace, slug=campaign_slug)
    page = Paginator(selectors.runs_for_campaign(campaign=campaign), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "runs/run_list.html",
        {**_base(request, workspace), "campaign": campaign, "runs": page, "page_obj": page},
    )


@login_required
@require_http_methods(["GET", "POST"])
def run_new(request: HttpRequest, slug: str, campaign_slug: str) -> HttpResponse:
    """GET: the form, and with ``plan=1`` the planned grid (htmx: the plan partial). POST: launch."""
    workspace = workspace_for_user(request.user, slug)
    campaign = studio_selectors.campaign_get(workspace=workspace, slug=campaign_slug)
    data = request.POST if request.method == "POST" else (request.GET if "plan" in request.GET else None)
    form = RunForm(data, campaign=campaign)
    context = {**_base(request, workspace), "campaign": campaign, "form": form, "plan": None, "error": ""}
    status = 200
    if data is not None and form.is_valid():
        spec = form.spec()
        if request.method == "POST":
            try:
                run = services.run_launch(
                    actor=request.user, spec=spec, only_what_fits=form.cleaned_data["only_what_fits"]
                )
            except REFUSED as exc:
                context["error"] = refusal_words(exc)
                status = getattr(exc, "status", 409) if isinstance(exc, Refusal) else 403
            else:
                messages.success(
                    request,
                    f"Run #{run.pk} launched: {run.cells.count()} cells reserved; their jobs are being prepared.",
                )
                response = redirect("runs:run", slug=workspace.slug, pk=run.pk)
                if request.htmx:
                    response = HttpResponse(status=204, headers={"HX-Redirect": response.url})
                return response
        context["plan"] = run_plan(spec)
    elif data is not None:
        context["error"] = " ".join(str(e) for errors in form.errors.values() for e in errors)
        status = 422 if request.method == "POST" else 200  # a live preview of an unfinished form is no error
    template = "runs/run_new.html#plan" if request.htmx and request.method == "GET" else "runs/run_new.html"
    if request.htmx and request.method == "POST":
        template = "runs/run_new.html#plan"
    return render(request, template, context, status=status)


def _since(raw: str | None) -> datetime | None:
    """The ``since`` of a live poll: milliseconds since the epoch (as the page wrote it), else None."""
    millis = parse_id(raw)
    if millis is None:
        return None
    try:
        return datetime.fromtimestamp(millis / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):  # past the year 9999: no page wrote that
        return None


def _live_context(request: HttpRequest, workspace, run) -> dict:
    """The progress summary and one page of the grid; for a live poll (htmx with ``since``) only the
    page's cells that changed since the previous answer, which the page swaps in place by id."""
    rendered_at = timezone.now()
    progress = selectors.run_progress(run=run)
    seen = parse_count(request.GET.get("seen"), cap=10**6)
    poll = parse_count(request.GET.get("poll"), cap=100)
    if progress.finished != seen:
        poll = 0  # something landed: keep polling briskly
    cells_page = Paginator(range(progress.total), selectors.GRID_PAGE).get_page(request.GET.get("page"))
    offset = (cells_page.number - 1) * selectors.GRID_PAGE
    since = _since(request.GET.get("since")) if request.htmx else None
    context = {
        **_base(request, workspace),
        "run": run,
        "progress": progress,
        "page_obj": cells_page,
        "poll_next": poll + 1,
        "poll_delay": poll_delay(poll),
        "polling": not run.is_terminal,
        # A cell saved while this answer was read may carry an earlier timestamp: ask again with a margin
        # (a cell sent twice is swapped twice, harmlessly).
        "since_next": int((rendered_at - SINCE_MARGIN).timestamp() * 1000),
        "changed": None,
    }
    cells = selectors.run_cells(run=run, offset=offset, changed_since=since)
    if since is not None:
        context["changed"] = selectors.cells_decorate(cells, workspace_slug=workspace.slug)
    else:
        context["locales"], context["rows"] = selectors.run_grid(cells, workspace_slug=workspace.slug)
    return context


@login_required
@require_GET
def run_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    workspace = workspace_for_user(request.user, slug)
    run = selectors.run_get(workspace=workspace, pk=pk)
    context = _live_context(request, workspace, run)
    if context["changed"] is not None:
        template = "runs/run_detail.html#poll"
    else:
        template = "runs/run_detail.html#live" if request.htmx else "runs/run_detail.html"
    return render(request, template, context)


def _act(request: HttpRequest, slug: str, pk: int, action) -> HttpResponse:
    workspace = workspace_for_user(request.user, slug)
    run = selectors.run_get(workspace=workspace, pk=pk)
    try:
        note = action(run)
    except REFUSED as exc:
        if request.htmx:
            status = getattr(exc, "status", 409) if isinstance(exc, Refusal) else 403
            return HttpResponse(refusal_words(exc), status=status, content_type="text/plain; charset=utf-8")
        messages.error(request, refusal_words(exc))
    else:
        messages.success(request, note)
    response = redirect("runs:run", slug=workspace.slug, pk=run.pk)
    if request.htmx:
        return HttpResponse(status=204, headers={"HX-Redirect": response.url})
    return response


@login_required
@require_POST
def run_cancel(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    def cancel(run) -> str:
        result = services.run_cancel(actor=request.user, run=run)
        tail = f" {result.in_flight} cells already in a call finish first." if result.in_flight else ""
        return f"Run cancelled: {result.cancelled} cells stopped and {money(result.released)} released.{tail}"

    return _act(request, slug, pk, cancel)


@login_required
@require_POST
def run_retry(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    def retry(run) -> str:
        cells = services.run_retry_failed(actor=request.user, run=run)
        return f"Retrying {len(cells)} failed cells."

    return _act(request, slug, pk, retry)
