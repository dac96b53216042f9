"""Setting a variant's focal point (where renditions trim around): a click or the arrow keys on the
variant page (``static/js/focal-point.js``), or the two number inputs of the same form without script."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from studio.core.permissions import can_generate, workspace_for_user
from studio.generation import selectors
from studio.generation.services.focal_point import variant_focal_point_set
from studio.generation.views.common import REFUSED, refusal_words

PARTIAL = "studio/partials/focal_point.html"


class FocalPointForm(forms.Form):
    """Percent of the width (across) and height (down); "reset" puts it back in the centre."""

    focal_x = forms.FloatField(min_value=0, max_value=100, label="Across (%)")
    focal_y = forms.FloatField(min_value=0, max_value=100, label="Down (%)")


@login_required
@require_POST
def variant_focal_point(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    workspace = workspace_for_user(request.user, slug)
    variant = selectors.variant_get(workspace=workspace, pk=pk)
    error, status = "", 200
    if request.POST.get("reset"):
        x = y = None
    else:
        form = FocalPointForm(request.POST)
        if form.is_valid():
            x, y = form.cleaned_data["focal_x"] / 100, form.cleaned_data["focal_y"] / 100
        else:
            error, status = "Give both positions as numbers from 0 to 100 (percent of the width and the height).", 422
    if not error:
        try:
            variant = variant_focal_point_set(actor=request.user, variant=variant, focal_x=x, focal_y=y)
        except REFUSED as exc:
            error, status = refusal_words(exc), getattr(exc, "status", 403)
    if getattr(request, "htmx", False):
        context = {
            "variant": variant,
            "workspace": workspace,
            "can_generate": can_generate(request.user, workspace),
            "focal_error": error,
            "focal_saved": not error,
        }
        return render(request, PARTIAL, context, status=status)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, "Focal point saved: renditions trim around it.")
    return redirect("studio:variant", slug=workspace.slug, pk=variant.pk)
