"""The site's own 400/403/404/500 pages, in the design system, in every setting.

Django shows its debug page instead only when ``DEBUG`` is on (``DJANGO_DEBUG=1``). The 500 page is
rendered without a request context and without touching the database: it must still answer when the
database is the thing that failed. htmx reads the ``data-error-message`` element of these pages and
shows it in the page's message region (``static/js/app.js``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token


def _page(request: HttpRequest, template: str, status: int, exception: Exception | None = None) -> HttpResponse:
    return render(request, template, {"status": status}, status=status)


def _refusal_words(exception: Exception | None) -> str:
    """A refusal's own sentence (``studio.core.errors.Forbidden`` carries one); never a bare class name."""
    message = getattr(exception, "message", None) or (str(exception) if exception is not None else "")
    return message if isinstance(message, str) and " " in message.strip() else ""


@requires_csrf_token
def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(request, "errors/400.html", 400, exception)


@requires_csrf_token
def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/403.html", {"status": 403, "message": _refusal_words(exception)}, status=403)


@requires_csrf_token
def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(request, "errors/404.html", 404, exception)


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    # No RequestContext: context processors and the nav query the database, which may be down.
    return HttpResponseServerError(loader.get_template("errors/500.html").render({"status": 500}))
