"""What every API view shares: the key's workspace, the body-size limit, ``Idempotency-Key`` on POST,
refusing unknown fields, and binary downloads."""

from __future__ import annotations

import mimetypes

from django.conf import settings
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, HttpResponse, HttpResponseRedirect
from django.template.response import SimpleTemplateResponse
from rest_framework import exceptions, generics, renderers, serializers

from approvals.api import idempotency
from approvals.api.problems import PayloadTooLarge

MAX_ID = 2**63 - 1


class StrictSerializer(serializers.Serializer):
    """Input serializers refuse fields they do not know (a typo must not be silently ignored)."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise exceptions.ValidationError({name: ["This field is not part of the request."] for name in unknown})
        return super().to_internal_value(data)


def IdField(**kwargs) -> serializers.IntegerField:  # noqa: N802 - reads like the field classes it makes
    """An id: positive and within 64 bits (a bigger number would fail in the database, not be a 404)."""
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


def refuse_nul(value, label: str):
    """JSON strings may carry NUL characters, which PostgreSQL cannot store: refuse them by name."""
    texts = []
    if isinstance(value, dict):
        texts = [str(k) for k in value] + [str(v) for v in value.values()]
    elif isinstance(value, str):
        texts = [value]
    if any("\x00" in t for t in texts):
        raise serializers.ValidationError(f"{label} cannot contain NUL (\\0) characters.")
    return value


class FileRenderer(renderers.BaseRenderer):
    """Lets downloads negotiate image and CSV types; the views answer with ready file responses."""

    media_type = "*/*"
    format = "file"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class ApiView(generics.GenericAPIView):
    """Base of every API view. ``self.workspace`` is the key's workspace: every query starts there, so
    another workspace's objects are simply not found (404)."""

    required_scopes: dict[str, str] = {}

    @property
    def workspace(self):
        return self.request.auth.workspace

    def initial(self, request, *args, **kwargs):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.IMPRIMATUR_API_MAX_BODY_BYTES:
            raise PayloadTooLarge(
                f"The request body is larger than {settings.IMPRIMATUR_API_MAX_BODY_BYTES:,} bytes; send less."
            )
        super().initial(request, *args, **kwargs)
        self._idempotency_claim = None
        header = request.headers.get(idempotency.HEADER)
        if request.method == "POST" and header is not None:
            fp = idempotency.fingerprint(method=request.method, path=request.get_full_path(), body=request.body)
            self._idempotency_claim = idempotency.idempotency_claim(
                key=request.auth, user=request.user, header=header, fp=fp
            )

    def handle_exception(self, exc):
        if isinstance(exc, idempotency.Replay):
            return exc.response
        # A refusal the audit log recorded changed something: its answer is kept for a repeat.
        self._refusal_recorded = bool(getattr(exc, "recorded", False))
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        claim = getattr(self, "_idempotency_claim", None)
        if claim is not None:
            if isinstance(response, SimpleTemplateResponse) and not response.is_rendered:
                response.render()
            recorded = getattr(self, "_refusal_recorded", False)
            idempotency.idempotency_store(claim=claim, response=response, recorded=recorded)
            self._idempotency_claim = None
        return response


def file_response(file: FieldFile, *, filename: str = "") -> HttpResponse:
    """The stored file: streamed from local storage, or a redirect to a short-lived signed URL on S3
    (the studio's media views do the same)."""
    if not file:
        raise exceptions.NotFound("There is no file for this.")
    storage = file.storage
    if getattr(storage, "querystring_auth", False) and hasattr(storage, "bucket_name"):
        response: HttpResponse = HttpResponseRedirect(
            storage.url(file.name, expire=settings.IMPRIMATUR_MEDIA_URL_SECONDS)
        )
        response["Cache-Control"] = "private, no-store"
        return response
    try:
        handle = storage.open(file.name, "rb")
    except FileNotFoundError as exc:
        raise exceptions.NotFound("The stored file is missing.") from exc
    content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    response = FileResponse(handle, content_type=content_type, as_attachment=bool(filename), filename=filename)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response
