"""Every API error as an RFC 9457 problem document (``application/problem+json``).

``type`` is a stable URI per kind of problem, ``title`` its short name, ``status`` the HTTP status,
``detail`` the plain-language message the studio's pages would show (a ``Refusal``'s own message), plus
``code`` (the refusal's stable code) and, for input mistakes, ``errors`` per field.

Answers are rendered here, as plain ``HttpResponse`` objects, so an error is JSON whatever renderer the
request negotiated (an image download refused with 404 still answers a problem document).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpResponse
from rest_framework import exceptions
from rest_framework.views import set_rollback

from studio.core.errors import Refusal

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "https://imprimatur.example/problems/"

_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Unprocessable request",
    429: "Too many requests",
    500: "Server error",
}
_DRF_CODES = {
    exceptions.ParseError: "malformed_body",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "invalid_api_key",
    exceptions.PermissionDenied: "forbidden",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
    exceptions.ValidationError: "invalid_input",
}


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "body_too_large"


class ProblemConflict(exceptions.APIException):
    status_code = 409
    default_detail = "That conflicts with another request."
    default_code = "conflict"


class ProblemUnprocessable(exceptions.APIException):
    status_code = 422
    default_detail = "That request could not be processed."
    default_code = "unprocessable"


def problem(
    *, status: int, detail: str, code: str, errors: dict | None = None, headers: dict[str, str] | None = None
) -> HttpResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + code.replace("_", "-"),
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    response = HttpResponse(
        json.dumps(body, cls=DjangoJSONEncoder, ensure_ascii=False), status=status, content_type=PROBLEM_CONTENT_TYPE
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _flatten(detail: Any) -> Any:
    """DRF's error details as plain strings, keeping their nesting."""
    if isinstance(detail, dict):
        return {str(k): _flatten(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [_flatten(v) for v in detail]
    return str(detail)


def _validation_summary(errors: Any) -> str:
    if isinstance(errors, dict):
        parts = []
        for field, messages in errors.items():
            text = " ".join(m for m in _leaves(messages))
            parts.append(text if field == "non_field_errors" else f"{field}: {text}")
        return "Please fix the request: " + "; ".join(parts) if parts else "Please fix the request."
    return "Please fix the request: " + " ".join(_leaves(errors))


def _leaves(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [str(value)]


def refusal_problem(exc: Refusal) -> HttpResponse:
    status = int(getattr(exc, "status", 409) or 409)
    if status < 400 or status > 499:
        status = 409
    headers = {"WWW-Authenticate": 'Bearer realm="api"'} if status == 401 else None
    return problem(status=status, detail=exc.message, code=exc.code, errors=exc.field_errors or None, headers=headers)


def problem_exception_handler(exc: Exception, context: dict) -> HttpResponse | None:
    """DRF's ``EXCEPTION_HANDLER``: refusals with their own words and status, DRF and Django errors by
    kind, anything unexpected as a logged 500 that says nothing was changed."""
    set_rollback()
    if isinstance(exc, Refusal):
        return refusal_problem(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("Nothing with that id exists here.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, exceptions.APIException):
        headers: dict[str, str] = {}
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(max(1, int(exc.wait + 0.999)))
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            headers["WWW-Authenticate"] = 'Bearer realm="api"'
            status = 401
        else:
            status = exc.status_code
        code = _DRF_CODES.get(type(exc)) or (exc.default_code if isinstance(exc.default_code, str) else "error")
        if isinstance(exc, exceptions.ValidationError):
            errors = _flatten(exc.detail)
            if not isinstance(errors, dict):
                errors = {"non_field_errors": errors}
            return problem(status=400, detail=_validation_summary(errors), code=code, errors=errors)
        detail = exc.detail if isinstance(exc.detail, str) else " ".join(_leaves(_flatten(exc.detail)))
        if isinstance(exc, exceptions.Throttled):
            detail = "Too many requests with this API key. " + (
                f"Try again in {headers['Retry-After']} seconds." if "Retry-After" in headers else "Try again later."
            )
        return problem(status=status, detail=str(detail), code=code, headers=headers)
    logger.exception("Unexpected error in the API", exc_info=exc)
    return problem(status=500, detail="Something went wrong; nothing was changed.", code="server_error")
