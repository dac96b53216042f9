"""The one provider interface: typed requests, typed results, and typed failures.

Every implementation (Azure OpenAI / Foundry, OpenAI-compatible, offline renderer) takes a
``GenerationRequest`` or ``EditRequest`` and returns a ``ProviderResult`` or raises a ``ProviderError``
whose ``kind`` tells the pipeline what to do (retry, fail, record a safety block).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Usage:
    """Token usage in the shape the hosted APIs return (``usage`` object)."""

    input_text_tokens: int = 0
    input_image_tokens: int = 0
    cached_text_tokens: int = 0
    cached_image_tokens: int = 0
    output_image_tokens: int = 0
    output_text_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_text_tokens + self.input_image_tokens + self.output_image_tokens + self.output_text_tokens

    def as_dict(self) -> dict[str, int]:
        return {
            "input_text_tokens": self.input_text_tokens,
            "input_image_tokens": self.input_image_tokens,
            "cached_text_tokens": self.cached_text_tokens,
            "cached_image_tokens": self.cached_image_tokens,
            "output_image_tokens": self.output_image_tokens,
            "output_text_tokens": self.output_text_tokens,
            "total_tokens": self.total_tokens,
        }


@dataclass(frozen=True)
class GeneratedImage:
    data: bytes
    width: int
    height: int
    format: str  # "png" | "jpeg" | "webp", read from the bytes, not trusted from the response
    filter_results: dict[str, Any] = field(default_factory=dict)
    # The decoded picture when the client already decoded ``data`` to check it (a Pillow image): the
    # thumbnail is made from it (shrinking it in place) instead of decoding the same bytes a second time.
    # Not part of equality; ``data`` stays the image.
    pixels: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ProviderResult:
    images: list[GeneratedImage]
    usage: Usage
    request_id: str = ""
    latency_ms: int = 0
    prompt_filter_results: dict[str, Any] = field(default_factory=dict)
    raw_meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GenerationRequest:
    prompt: str
    size: str  # "WxH" as planned; never "auto" from the product
    n: int = 1
    quality: str = "auto"
    output_format: str = "png"
    background: str = ""
    output_compression: int | None = None
    moderation: str = ""
    safety_identifier: str = ""
    seed: int = 0  # only the offline renderer uses it (determinism)
    extra_body: dict[str, Any] = field(default_factory=dict)
    idempotency_key: str = ""


@dataclass(frozen=True)
class EditRequest:
    prompt: str
    images: list[bytes]  # base first, then references (1..16)
    size: str
    n: int = 1
    quality: str = "auto"
    output_format: str = "png"
    background: str = ""
    output_compression: int | None = None
    mask: bytes | None = None
    markup: bytes | None = None
    input_fidelity: str = ""
    seed: int = 0
    extra_body: dict[str, Any] = field(default_factory=dict)
    idempotency_key: str = ""


class ErrorKind(enum.StrEnum):
    BLOCKED = "blocked"  # a safety system refused the prompt or the output
    RETRYABLE = "retryable"  # 429, 5xx, timeouts, connection errors
    FATAL = "fatal"  # 400/401/403/404: retrying cannot help
    MALFORMED = "malformed"  # the response is not what the contract promises


class ProviderError(Exception):
    """A failure with a message a marketer can act on. ``retry_after`` is in seconds when the
    service said how long to wait; ``stage`` is "prompt" or "output" for safety blocks."""

    def __init__(
        self,
        message: str,
        *,
        kind: ErrorKind,
        code: str = "",
        status_code: int | None = None,
        retry_after: float | None = None,
        stage: str = "",
        categories: list[str] | None = None,
        filter_results: dict[str, Any] | None = None,
        request_id: str = "",
    ) -> None:
        super().__init__(message)
        self.user_message = message
        self.kind = kind
        self.code = code
        self.status_code = status_code
        self.retry_after = retry_after
        self.stage = stage
        self.categories = categories or []
        self.filter_results = filter_results or {}
        self.request_id = request_id


class ImageProvider(Protocol):
    """What the pipeline needs from any image service."""

    label: str

    def generate(self, request: GenerationRequest) -> ProviderResult: ...

    def edit(self, request: EditRequest) -> ProviderResult: ...
