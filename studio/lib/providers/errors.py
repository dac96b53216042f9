"""Mapping hosted-API failures to ``ProviderError`` with a message that names the likely fix.

The shapes come from the wild (see tests/fixtures/payloads/): OpenAI's ``moderation_blocked`` with
``moderation_details``, the older ``content_policy_violation``, Azure's ``contentFilter`` (prompt vs output
told apart only by the message) and Azure's ``inner_error`` with ``ResponsibleAIPolicyViolation``. A safety
block is an outcome to record (``BLOCKED``), not a crash; 429/5xx/timeouts are ``RETRYABLE``; the rest
are ``FATAL`` because retrying cannot help.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from studio.lib.providers.base import ErrorKind, ProviderError
from studio.lib.providers.parsing import request_id_from

SAFETY_CODES = frozenset(
    {
        "moderation_blocked",
        "content_policy_violation",
        "contentfilter",
        "content_filter",
        "responsibleaipolicyviolation",
    }
)
OUTPUT_HINTS = ("generated image", "output", "response was filtered")
# The wordings that name the prompt: OpenAI's older refusal ("Your prompt may contain ...") and Azure's
# prompt filter ("Your task failed as a result of our safety system.").
PROMPT_HINTS = ("your prompt", "your task failed")
#: A block whose reply names no stage (OpenAI's ``moderation_blocked`` without ``moderation_details``):
#: recorded as such rather than guessed.
UNKNOWN_STAGE = "unknown"
SUPPORTED_VALUES = re.compile(r"Supported values are:?\s*(.+?)\.?\s*$", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class CallContext:
    """What the message needs to name: the variable with the key, the deployment, the size asked for."""

    provider_label: str
    model: str
    endpoint: str
    secret_env: str = ""
    auth_mode: str = "api_key"
    size: str = ""
    timeout: float = 0.0
    azure: bool = False


def retry_after_seconds(headers: Any) -> float | None:
    """``retry-after-ms`` first, then ``retry-after`` (seconds). None when absent, unparseable or negative
    (Azure sends -1 meaning "no advice")."""
    if headers is None:
        return None
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            value = float(str(raw).strip())
        except ValueError:
            continue
        if not math.isfinite(value) or value < 0:
            return None
        return value / divisor
    return None


def _body(response: Any) -> dict[str, Any]:
    try:
        payload = response.json()
    except (ValueError, json.JSONDecodeError, UnicodeDecodeError):
        return {}
    if not isinstance(payload, dict):
        return {}
    error = payload.get("error", payload)
    return error if isinstance(error, dict) else {}


def _filtered_categories(results: Any) -> list[str]:
    categories = []
    if isinstance(results, dict):
        for name, value in results.items():
            flagged_dict = isinstance(value, dict) and (value.get("filtered") or value.get("detected"))
            flagged_list = isinstance(value, list) and any(isinstance(v, dict) and v.get("filtered") for v in value)
            if flagged_dict or flagged_list:
                categories.append(name)
    return categories


def _safety_error(error: dict[str, Any], *, status: int, request_id: str) -> ProviderError | None:
    code = str(error.get("code") or "")
    inner = error.get("inner_error") or error.get("innererror") or {}
    inner_code = str(inner.get("code") or "") if isinstance(inner, dict) else ""
    if code.lower() not in SAFETY_CODES and inner_code.lower() not in SAFETY_CODES:
        return None
    message = str(error.get("message") or "")
    details = error.get("moderation_details") or {}
    filter_results = inner.get("content_filter_results") if isinstance(inner, dict) else None
    filter_results = filter_results if isinstance(filter_results, dict) else {}
    stage_hint = str(details.get("moderation_stage") or "").lower()
    if stage_hint in ("input", "prompt"):
        stage = "prompt"
    elif stage_hint == "output" or any(hint in message.lower() for hint in OUTPUT_HINTS):
        stage = "output"
    elif str(error.get("param") or "") == "prompt" or any(hint in message.lower() for hint in PROMPT_HINTS):
        stage = "prompt"
    else:
        stage = UNKNOWN_STAGE
    categories = [str(c) for c in details.get("categories") or []] or _filtered_categories(filter_results)
    what = {"prompt": "this prompt", "output": "the image it made"}.get(stage, "this request")
    listed = f" ({', '.join(c.replace('_', ' ') for c in categories)})" if categories else ""
    return ProviderError(
        f"The image service's safety system refused {what}{listed}. Nothing was charged; change the wording "
        "or ask compliance for help.",
        kind=ErrorKind.BLOCKED,
        code=code or inner_code,
        status_code=status,
        stage=stage,
        categories=categories,
        filter_results=filter_results,
        request_id=request_id,
    )


def _bad_request_message(error: dict[str, Any], ctx: CallContext) -> str:
    message = str(error.get("message") or "").strip()
    param = str(error.get("param") or "")
    if param == "size" or "size" in message.lower():
        supported = SUPPORTED_VALUES.search(message)
        if supported:
            accepted = supported.group(1).replace("'", "").strip()
            return (
                f"The model refused the size {ctx.size}: it only accepts {accepted}. Re-plan the size for this model."
            )
        return f"The model refused the size {ctx.size}: {message or 'check the model capability profile.'}"
    return f"The image service rejected the request: {message or 'no reason given'}."


def map_status_error(*, status: int, response: Any, ctx: CallContext) -> ProviderError:
    """A ``ProviderError`` for an HTTP error response (an httpx2.Response)."""
    headers = getattr(response, "headers", None)
    request_id = request_id_from(headers)
    error = _body(response)
    code = str(error.get("code") or "")
    if status in (400, 403, 422) and (blocked := _safety_error(error, status=status, request_id=request_id)):
        return blocked
    if status == 429:
        retry_after = retry_after_seconds(headers)
        wait = f" It asked us to wait {retry_after:g} seconds." if retry_after is not None else ""
        return ProviderError(
            f"{ctx.provider_label} is busy (too many requests for this deployment).{wait}",
            kind=ErrorKind.RETRYABLE,
            code=code or "rate_limited",
            status_code=status,
            retry_after=retry_after,
            request_id=request_id,
        )
    if status >= 500 or status in (408, 409):
        return ProviderError(
            f"{ctx.provider_label} had a problem on its side (HTTP {status}).",
            kind=ErrorKind.RETRYABLE,
            code=code or "server_error",
            status_code=status,
            retry_after=retry_after_seconds(headers),
            request_id=request_id,
        )
    if status == 401:
        if ctx.auth_mode == "entra":
            message = (
                "The Entra ID sign-in was rejected: check that this identity has the Cognitive Services "
                "OpenAI User role on the resource."
            )
        else:
            message = (
                f"The API key in {ctx.secret_env or 'the configured variable'} was rejected: check the key "
                "or the role assignment."
            )
        return ProviderError(
            message, kind=ErrorKind.FATAL, code=code or "unauthorized", status_code=status, request_id=request_id
        )
    if status == 403:
        return ProviderError(
            f"{ctx.provider_label} refused access to {ctx.model}: check the role assignment, the key's "
            f"permissions ({ctx.secret_env or 'Entra ID'}) and the resource's network rules.",
            kind=ErrorKind.FATAL,
            code=code or "forbidden",
            status_code=status,
            request_id=request_id,
        )
    if status == 404:
        return ProviderError(
            (
                f"No deployment named {ctx.model} at this endpoint ({ctx.endpoint}): check the deployment name, the "
                "endpoint URL and the API version."
            )
            if ctx.azure
            else (
                f"No model named {ctx.model} at this endpoint ({ctx.endpoint}): check the model name and the base URL."
            ),
            kind=ErrorKind.FATAL,
            code=code or "not_found",
            status_code=status,
            request_id=request_id,
        )
    if status == 413:
        return ProviderError(
            "The images sent were too large for the service (each must be under 50 MB).",
            kind=ErrorKind.FATAL,
            code=code or "too_large",
            status_code=status,
            request_id=request_id,
        )
    return ProviderError(
        _bad_request_message(error, ctx),
        kind=ErrorKind.FATAL,
        code=code or f"http_{status}",
        status_code=status,
        request_id=request_id,
    )


def map_sdk_exception(exc: Exception, ctx: CallContext) -> ProviderError:
    """Any exception from the ``openai`` SDK call as a ``ProviderError``."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return ProviderError(
            f"{ctx.provider_label} did not answer within {ctx.timeout:g} seconds.",
            kind=ErrorKind.RETRYABLE,
            code="timeout",
        )
    if isinstance(exc, openai.APIConnectionError):
        return ProviderError(
            f"Could not reach {ctx.provider_label} at {ctx.endpoint}: check the endpoint URL and the network.",
            kind=ErrorKind.RETRYABLE,
            code="connection_error",
        )
    if isinstance(exc, openai.APIStatusError):
        return map_status_error(status=exc.status_code, response=exc.response, ctx=ctx)
    if isinstance(exc, openai.APIResponseValidationError | ValueError):
        return ProviderError(
            f"{ctx.provider_label} sent an answer we could not read; nothing was saved.",
            kind=ErrorKind.MALFORMED,
            code="malformed_response",
        )
    return ProviderError(f"{ctx.provider_label} failed unexpectedly: {exc}", kind=ErrorKind.FATAL, code="unexpected")
