"""Variant images and thumbnails, only for members of the variant's workspace.

Unpublished images are not public files: there is no ``/media/`` route for them. Local storage streams
the bytes (``FileResponse``); S3 with query-string auth answers a redirect to a short-lived signed URL
(``IMPRIMATUR_MEDIA_URL_SECONDS``). Published renditions keep their public URL (approvals.publishing).
"""

from __future__ import annotations

import mimetypes

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_GET

from studio.core.permissions import workspace_for_user
from studio.generation import selectors


@login_required
@require_GET
def variant_image(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    workspace = workspace_for_user(request.user, slug)
    variant = selectors.variant_media_get(workspace=workspace, pk=pk)
    return _file_response(variant.image)


@login_required
@require_GET
def variant_thumbnail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """The thumbnail, or the full image for variants made before thumbnails existed."""
    workspace = workspace_for_user(request.user, slug)
    variant = selectors.variant_media_get(workspace=workspace, pk=pk)
    return _file_response(variant.thumbnail or variant.image)


def _file_response(file: FieldFile) -> HttpResponse:
    if not file:
        raise Http404("No image")
    storage = file.storage
    if getattr(storage, "querystring_auth", False) and hasattr(storage, "bucket_name"):
        signed = storage.url(file.name, expire=settings.IMPRIMATUR_MEDIA_URL_SECONDS)
        response: HttpResponse = HttpResponseRedirect(signed)
        response["Cache-Control"] = "private, no-store"
        return response
    try:
        handle = file.storage.open(file.name, "rb")
    except FileNotFoundError as exc:
        raise Http404("No image") from exc
    content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response
