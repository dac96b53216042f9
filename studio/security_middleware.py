"""Probe throttling: a signed-in user who keeps getting 404s under ``/w/`` is probing ids.

Workspace lookups answer 404 for missing and forbidden objects alike, so ids cannot be told apart; this
makes sure guessing them is also slow and leaves a trace. Each such 404 is logged on the
``imprimatur.security`` logger (user id, method and path only: never the query string, headers or
body, which may carry secrets) and counted per user in Django's cache. Past ``PROBE_404_LIMIT`` (30)
404s within ``PROBE_404_WINDOW`` seconds (300, counted from the first one), the user's ``/w/`` requests
answer 429 with a readable page until the window ends.

The count lives in the ``default`` cache: per process with the built-in local-memory cache, shared
between workers when ``CACHE_URL`` points at Redis (see settings). Anonymous requests are left to
``login_required`` (they are redirected before any lookup runs).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

logger = logging.getLogger("imprimatur.security")

WORKSPACE_PREFIX = "/w/"
DEFAULT_LIMIT = 30
DEFAULT_WINDOW = 300


def _limit() -> int:
    return int(getattr(settings, "PROBE_404_LIMIT", DEFAULT_LIMIT))


def _window() -> int:
    return int(getattr(settings, "PROBE_404_WINDOW", DEFAULT_WINDOW))


def probe_key(user_id: int) -> str:
    return f"imprimatur:probe404:{user_id}"


class ProbeThrottleMiddleware:
    """Log and count a signed-in user's 404s under ``/w/``; answer 429 once they exceed the limit.
    Must come after ``AuthenticationMiddleware`` (it reads ``request.user``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        watched = user is not None and user.is_authenticated and request.path_info.startswith(WORKSPACE_PREFIX)
        if watched and (cache.get(probe_key(user.pk)) or 0) >= _limit():
            return self._too_many(request, user)
        response = self.get_response(request)
        if watched and response.status_code == 404:
            self._count(request, user)
        return response

    def _count(self, request: HttpRequest, user) -> None:
        key = probe_key(user.pk)
        cache.add(key, 0, timeout=_window())
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr: start a new window
            cache.set(key, 1, timeout=_window())
            count = 1
        logger.warning(
            "404 on a workspace URL: user=%s method=%s path=%s count=%s",
            user.pk,
            request.method,
            request.path,
            count,
        )

    def _too_many(self, request: HttpRequest, user) -> HttpResponse:
        logger.warning(
            "Probe limit reached, answering 429: user=%s method=%s path=%s", user.pk, request.method, request.path
        )
        minutes = max(1, _window() // 60)
        body = render_to_string("security/too_many_probes.html", {"minutes": minutes}, request=request)
        response = HttpResponse(body, status=429)
        response["Retry-After"] = str(_window())
        return response
