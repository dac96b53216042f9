"""Who is asking, for the audit chain: the request's IP and user agent, captured once per request.

Services record them in every event they write without being handed the request, so a service called
from a view, a task or a command has one signature. Outside a request both are empty.
"""

from __future__ import annotations

import contextvars
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse


@dataclass(frozen=True)
class RequestMeta:
    ip: str | None = None
    user_agent: str = ""


_NO_REQUEST = RequestMeta()  # frozen, so one shared default is safe
_request_meta: contextvars.ContextVar[RequestMeta] = contextvars.ContextVar("audit_request_meta", default=_NO_REQUEST)


def current_request_meta() -> RequestMeta:
    """The IP and user agent of the request being served, or empty ones outside a request."""
    return _request_meta.get()


class AuditRequestMiddleware:
    """Captures IP and user agent so services can record them without taking the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _request_meta.set(
            RequestMeta(
                ip=_normalise_ip(request.META.get("REMOTE_ADDR")),
                user_agent=request.META.get("HTTP_USER_AGENT", "")[:400],
            )
        )
        try:
            return self.get_response(request)
        finally:
            _request_meta.reset(token)


def _normalise_ip(raw: str | None) -> str | None:
    """The textual form PostgreSQL's ``inet`` gives back, so the stored value hashes the same way.
    Unparseable values are dropped rather than failing the change being recorded."""
    if not raw:
        return None
    try:
        address = ipaddress.ip_address(raw.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return address.compressed
