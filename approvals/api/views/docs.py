"""The interactive docs (Swagger UI from drf-spectacular-sidecar's own copy, no CDN) and the API's 404.

The site's CSP allows scripts and styles from 'self' only, with nothing inline. drf-spectacular's split
view serves Swagger UI's start-up script as a separate same-origin file (``?script``), and our template
(``templates/api/swagger_ui.html``) drops the page's inline ``<style>``, so the docs run under the
site-wide policy unchanged: no per-view relaxation. (Redoc is not offered: it injects inline styles.)"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework import exceptions, permissions
from rest_framework.views import APIView


class SwaggerDocs(SpectacularSwaggerSplitView):
    template_name = "api/swagger_ui.html"
    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    throttle_classes: list = []


@extend_schema(exclude=True)
class NotFound(APIView):
    """Any path under /api/v1/ that names no resource: a problem 404 rather than the site's HTML page."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    throttle_classes: list = []

    def _missing(self, request, *args, **kwargs):
        raise exceptions.NotFound("There is no such API resource. See /api/v1/docs/ for what there is.")

    get = post = put = patch = delete = head = options = _missing
