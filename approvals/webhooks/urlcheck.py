"""Endpoint URL rules, against server-side request forgery: https only, and every address the host
resolves to must be public (no loopback, private, link-local, multicast, reserved or unspecified
address: cloud metadata services live at 169.254.169.254). Checked when an endpoint is saved and again
before each delivery (the DNS answer may have changed). ``IMPRIMATUR_WEBHOOK_ALLOW_LOCAL_URLS`` lifts
both rules, for development and the test receiver on 127.0.0.1; it is off in production.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

MAX_URL = 500


def _local_allowed() -> bool:
    return bool(getattr(settings, "IMPRIMATUR_WEBHOOK_ALLOW_LOCAL_URLS", False))


def _address_problem(address: str) -> str | None:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_private:
        return "a private network address"
    if ip.is_multicast or ip.is_reserved or ip.is_unspecified or not ip.is_global:
        return "an address that is not on the public internet"
    return None


def resolve(host: str, port: int) -> list[str]:
    return sorted({info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


def url_problem(url: str, *, resolve_host: bool = True) -> str | None:
    """Why ``url`` may not receive webhooks, in plain words, or None."""
    if not url or len(url) > MAX_URL:
        return f"Give the endpoint's address (up to {MAX_URL} characters)."
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "That is not a valid web address."
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "The address must start with https:// and name a host."
    if parts.username or parts.password:
        return "Leave credentials out of the address; deliveries are signed instead."
    allow_local = _local_allowed()
    if parts.scheme != "https" and not allow_local:
        return "The endpoint must use https://."
    if allow_local or not resolve_host:
        return None
    host = parts.hostname
    try:
        addresses = [host] if _is_ip(host) else resolve(host, port)
    except (socket.gaierror, UnicodeError):
        return f"The host {host} could not be found."
    if not addresses:
        return f"The host {host} could not be found."
    for address in addresses:
        if problem := _address_problem(address):
            return f"{host} points to {problem} ({address}); webhooks go to public addresses only."
    return None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True
