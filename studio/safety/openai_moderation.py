"""OpenAI moderation (``omni-moderation-latest``) through the official ``openai`` SDK.

Why the SDK rather than raw httpx2: the image providers already talk to OpenAI through it, so base URL,
auth, request ids and error classes behave the same everywhere, and its typed response tracks the API's
categories (including ``category_applied_input_types``). It is built on httpx2, so tests inject an
``httpx2.Client`` with a ``MockTransport``. The SDK's own retries are off (``max_retries=0``): retrying
is the Celery task's job, with backoff, while the screening stays visibly pending.

Images are scored only for self-harm, sexual and violence; hate, harassment and illicit are text-only,
so for an image those categories are recorded as "not assessed" rather than as a clean zero.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from typing import Any

import httpx2
import openai
from django.conf import settings

from studio.lib.imaging import UnreadableImage, image_prepare
from studio.safety.types import ScreenerUnavailable

MODEL = "omni-moderation-latest"
DEFAULT_BASE_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class CategoryScore:
    raw: str  # OpenAI's name, e.g. "self-harm/intent"
    score: float
    flagged: bool
    assessed: bool  # whether the score applies to the input type sent


@dataclass(frozen=True)
class ModerationResult:
    flagged: bool
    scores: list[CategoryScore]
    model: str
    request_id: str = ""


class OpenAIModerationClient:
    def __init__(
        self, *, api_key: str, base_url: str = "", timeout: float, http_client: httpx2.Client | None = None
    ) -> None:
        self.timeout = timeout
        self._client = openai.OpenAI(
            api_key=api_key,
            base_url=base_url or DEFAULT_BASE_URL,
            timeout=timeout,
            max_retries=0,
            http_client=http_client or httpx2.Client(timeout=timeout),
        )

    @classmethod
    def from_settings(cls, *, http_client: httpx2.Client | None = None) -> OpenAIModerationClient | None:
        """The configured client, or ``None`` without a key. The base URL defaults to OpenAI's."""
        key = os.environ.get(settings.OPENAI_MODERATION_KEY_ENV, "")
        if not key:
            return None
        return cls(
            api_key=key,
            base_url=settings.OPENAI_MODERATION_BASE_URL,
            timeout=settings.IMPRIMATUR_SAFETY_TIMEOUT_SECONDS,
            http_client=http_client,
        )

    def moderate_text(self, text: str) -> ModerationResult:
        return self._moderate([{"type": "text", "text": text}], input_type="text")

    def moderate_image(self, image: bytes) -> ModerationResult:
        try:
            data, mime = image_prepare(image)
        except UnreadableImage as exc:
            raise ScreenerUnavailable(str(exc), retryable=False) from exc
        url = f"data:{mime};base64,{base64.b64encode(data).decode()}"
        return self._moderate([{"type": "image_url", "image_url": {"url": url}}], input_type="image")

    def _moderate(self, inputs: list[dict[str, Any]], *, input_type: str) -> ModerationResult:
        try:
            response = self._client.moderations.create(model=MODEL, input=inputs)  # type: ignore[arg-type]
        except openai.APITimeoutError as exc:
            raise ScreenerUnavailable(f"OpenAI moderation did not answer within {self.timeout:g} seconds.") from exc
        except openai.APIConnectionError as exc:
            raise ScreenerUnavailable("OpenAI moderation could not be reached.") from exc
        except openai.APIStatusError as exc:
            raise _error_for(exc) from exc
        except openai.APIResponseValidationError as exc:
            raise ScreenerUnavailable("OpenAI moderation sent a reply in an unexpected shape.") from exc
        if not response.results:
            raise ScreenerUnavailable("OpenAI moderation sent a reply without results.")
        result = response.results[0].model_dump(by_alias=True)
        flags = result.get("categories") or {}
        applied = result.get("category_applied_input_types") or {}
        scores = []
        for raw, score in (result.get("category_scores") or {}).items():
            if score is None:
                continue
            types = applied.get(raw)
            # Older deployments omit applied types; then only text is certainly assessed.
            assessed = input_type in types if types is not None else input_type == "text"
            scores.append(CategoryScore(raw=raw, score=float(score), flagged=bool(flags.get(raw)), assessed=assessed))
        return ModerationResult(
            flagged=bool(result.get("flagged")),
            scores=scores,
            model=response.model,
            request_id=getattr(response, "_request_id", "") or "",
        )


def _error_for(exc: openai.APIStatusError) -> ScreenerUnavailable:
    status = exc.status_code
    if status in (401, 403):
        return ScreenerUnavailable(
            "OpenAI moderation refused the key (check OPENAI_API_KEY).", status_code=status, retryable=False
        )
    if status == 429:
        return ScreenerUnavailable(
            "OpenAI moderation is rate-limiting requests; we will try again.", status_code=status
        )
    if status >= 500:
        return ScreenerUnavailable(f"OpenAI moderation had a server error ({status}).", status_code=status)
    return ScreenerUnavailable(
        f"OpenAI moderation rejected the request ({status}).", status_code=status, retryable=False
    )
