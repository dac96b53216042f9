"""Studio pages that read: workspaces, campaigns (and new drafts), drafts, their history, tree and
comparisons."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from studio.core.models import Membership, Role
from studio.core.permissions import workspace_for_user, workspaces_for
from studio.generation import selectors, services
from studio.generation.forms import DraftEditForm, DraftForm
from studio.generation.views.common import REFUSED, draft_context, refusal_words, role_context
from studio.lib.ids import parse_id


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    landing = _role_landing(request)
    if landing:
        return redirect(landing)
    workspaces = list(workspaces_for(request.user))
    if len(workspaces) == 1:
        return redirect("studio:workspace", slug=workspaces[0].slug)
    return render(request, "studio/home.html", {"workspaces": workspaces})


LANDED = "studio.landed"


def _role_landing(request: HttpRequest) -> str:
    """The first page after signing in is where the person's work is: the review queue for a reviewer,
    the compliance log for an auditor (people who make images start here, in the studio). Only once per
    session, so the header's "Studio" link still opens the studio afterwards."""
    if request.session.get(LANDED):
        return ""
    request.session[LANDED] = True
    roles = set(Membership.objects.filter(user=request.user).values_list("role", flat=True))
    if roles & {Role.MARKETER, Role.ADMIN} or not roles:
        return ""
    name = "approvals:queue" if Role.BRAND_REVIEWER in roles else "compliance:log"
    try:
        return reverse(name)  # by name: the pages belong to the apps above the studio
    except NoReverseMatch:
        return ""


@login_required
@require_GET
def workspace_detail(request: HttpRequest, slug: str) -> HttpResponse:
    workspace = workspace_for_user(request.user, slug)
    campaigns = selectors.campaigns_for(workspace=workspace)
    return render(request, "studio/workspace.html", {**role_context(request.user, workspace), "campaigns": campaigns})


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
        except REFUSED as exc:
            messages.error(request, refusal_words(exc))
        else:
            return redirect("studio:draft", slug=workspace.slug, pk=draft.pk)
    drafts = Paginator(selectors.drafts_for(campaign=campaign), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "studio/campaign.html",
        {
            **role_context(request.user, workspace),
            "campaign": campaign,
            "drafts": drafts,
            "page_obj": drafts,
            "form": form,
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_GET
def draft_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    workspace = workspace_for_user(request.user, slug)
    draft = selectors.draft_get(workspace=workspace, pk=pk)
    return render(request, "studio/draft.html", draft_context(request, workspace, draft))


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
        except REFUSED as exc:
            messages.error(request, refusal_words(exc))
        else:
            messages.success(request, f"Saved as version {version.number}.")
            return redirect("studio:draft", slug=workspace.slug, pk=draft.pk)
    context = draft_context(request, workspace, draft, edit_form=form)
    return render(request, "studio/draft.html", context, status=400)


@login_required
@require_GET
def compare(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Compare two versions of the same draft: side by side, slider, pixel difference, synced zoom."""
    workspace = workspace_for_user(request.user, slug)
    left = selectors.variant_get(workspace=workspace, pk=pk)
    raw_other = request.GET.get("with", "")
    other = parse_id(raw_other)
    if raw_other and other is None:  # no version could have that id: as for one that was deleted
        raise Http404("No such version")
    candidates = list(left.draft.variants.exclude(pk=left.pk).order_by("-created_at")[:50])
    if other is not None:
        right = selectors.variant_get(workspace=workspace, pk=other)
        if right.draft_id != left.draft_id:
            raise Http404("Only versions of the same draft can be compared")
    else:
        right = left.parents.order_by("pk").first() or (candidates[0] if candidates else None)
    return render(
        request,
        "studio/compare.html",
        {
            **role_context(request.user, workspace),
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
            **role_context(request.user, workspace),
            "draft": draft,
            "campaign": draft.campaign,
            "tree": selectors.tree_by_job(selectors.draft_tree(draft=draft)),
        },
    )


@login_required
@require_GET
def draft_version_diff(request: HttpRequest, slug: str, pk: int, number: int) -> HttpResponse:
    """Word-level changes from version ``number - 1`` to ``number`` of a draft (a page, or the fragment
    shown inside the draft page's history when asked through htmx)."""
    workspace = workspace_for_user(request.user, slug)
    draft = selectors.draft_get(workspace=workspace, pk=pk)
    context = {
        **role_context(request.user, workspace),
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
