"""The inbox: the user's notifications from every workspace (so it lives at ``/inbox/``, not under one)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRefresh

from approvals.reviews import selectors, services
from approvals.reviews.views._common import PAGE_SIZE, HtmxHttpRequest
from studio.lib.ids import parse_ids


@login_required
@require_GET
def inbox(request: HtmxHttpRequest) -> HttpResponse:
    notifications = selectors.notifications_for(user=request.user)
    page_obj = Paginator(notifications, PAGE_SIZE).get_page(request.GET.get("page"))
    unread = notifications.filter(read_at__isnull=True).count()
    return render(request, "approvals/inbox.html", {"page_obj": page_obj, "unread": unread})


@login_required
@require_POST
def inbox_mark_read(request: HtmxHttpRequest) -> HttpResponse:
    raw = request.POST.getlist("notification")
    ids = parse_ids(raw) if raw else None  # a value no notification could have is one that does not exist
    count = services.notifications_mark_read(actor=request.user, ids=ids)
    if request.htmx:
        return HttpResponseClientRefresh()
    messages.success(request, f"Marked {count} notification{'s' if count != 1 else ''} as read.")
    return redirect("approvals:inbox")
