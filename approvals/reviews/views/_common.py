"""What the review views share: the htmx request type, page size, links to the studio, and the
answers of the old (pre-workspace) URLs."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.http.response import HttpResponseRedirectBase
from django.urls import reverse
from django_htmx.middleware import HtmxDetails

from studio.generation.models import Variant

PAGE_SIZE = 25


class HtmxHttpRequest(HttpRequest):
    """Typing only: django-htmx's middleware sets ``request.htmx``."""

    htmx: HtmxDetails


class HttpResponsePermanentRedirectKeepMethod(HttpResponseRedirectBase):
    """308: moved for good, and the browser repeats the same method and body (a form posted from a
    page opened before the move still lands)."""

    status_code = 308


def variant_url(variant: Variant) -> str:
    return reverse("studio:variant", kwargs={"slug": variant.workspace.slug, "pk": variant.pk})


def moved(request: HttpRequest, url: str) -> HttpResponseRedirectBase:
    """The answer of an old URL: 301 for reads (keeping the query string, e.g. ``?outcome=reject``
    in an emailed link), 308 for writes so the POST is repeated at the new address."""
    if request.META.get("QUERY_STRING"):
        url = f"{url}?{request.META['QUERY_STRING']}"
    if request.method in ("GET", "HEAD"):
        return HttpResponsePermanentRedirect(url)
    return HttpResponsePermanentRedirectKeepMethod(url)
