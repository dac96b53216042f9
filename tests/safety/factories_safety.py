"""Test helpers for the safety layer: recorded payloads and a MockTransport router that plays them."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "safety"
AZURE_ENDPOINT = "https://acme-cs.cognitiveservices.azure.com"
OPENAI_BASE = "https://api.openai.test/v1"


def payload(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


Reply = httpx2.Response | Exception | Callable[[httpx2.Request], httpx2.Response]


@dataclass
class Router:
    """Answers by URL path suffix (first match wins); each route may hold a list played in order."""

    routes: dict[str, list[Reply]] = field(default_factory=dict)
    requests: list[httpx2.Request] = field(default_factory=list)

    def on(self, suffix: str, *replies: Reply) -> Router:
        self.routes[suffix] = list(replies)
        return self

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        for suffix, replies in self.routes.items():
            if request.url.path.endswith(suffix):
                reply = replies.pop(0) if len(replies) > 1 else replies[0]
                if isinstance(reply, Exception):
                    raise reply
                if callable(reply) and not isinstance(reply, httpx2.Response):
                    return reply(request)
                return reply
        raise AssertionError(f"unexpected request {request.method} {request.url}")

    def client(self) -> httpx2.Client:
        return httpx2.Client(transport=httpx2.MockTransport(self.handler))

    def bodies(self, suffix: str) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests if r.url.path.endswith(suffix)]


def ok(name: str, status: int = 200) -> Callable[[httpx2.Request], httpx2.Response]:
    """A fresh recorded response per request (a Response object can only be consumed once)."""
    return lambda request: httpx2.Response(status, json=payload(name))


def timeout() -> httpx2.TimeoutException:
    return httpx2.ReadTimeout("timed out")
