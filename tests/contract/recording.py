"""Helpers shared by the provider and contract tests: recorded payloads and a capturing MockTransport."""

from __future__ import annotations

import base64
import copy
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
from PIL import Image

PAYLOADS = Path(__file__).resolve().parent.parent / "fixtures" / "payloads"


def payload(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / f"{name}.json").read_text())


def image_bytes(width: int, height: int, fmt: str = "PNG", color=(200, 80, 40), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height), color).save(buffer, format=fmt)
    return buffer.getvalue()


def with_image(body: dict[str, Any], data: bytes) -> dict[str, Any]:
    """A copy of a recorded success body whose every image is ``data``."""
    body = copy.deepcopy(body)
    for item in body["data"]:
        item["b64_json"] = base64.b64encode(data).decode()
    return body


class Recorder:
    """A MockTransport that records requests and answers from a queue (or a function)."""

    def __init__(self, *responses: httpx2.Response | Callable[[httpx2.Request], httpx2.Response] | Exception):
        self.requests: list[httpx2.Request] = []
        self.responses = list(responses)

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        request.read()
        self.requests.append(request)
        answer = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer

    def client(self) -> httpx2.Client:
        return httpx2.Client(transport=httpx2.MockTransport(self))

    @property
    def last(self) -> httpx2.Request:
        return self.requests[-1]


def ok(body: dict[str, Any], **headers: str) -> httpx2.Response:
    return httpx2.Response(200, json=body, headers={"x-request-id": "req_test_1", **headers})


def error(status: int, name_or_body: str | dict[str, Any], **headers: str) -> httpx2.Response:
    body = payload(name_or_body) if isinstance(name_or_body, str) else name_or_body
    return httpx2.Response(status, json=body, headers=headers)
