"""OpenAI-compatible and Azure OpenAI / Foundry image providers, through the official ``openai`` SDK.

One shared, pooled ``httpx2.Client`` with explicit timeouts carries every call (tests inject one with an
``httpx2.MockTransport``). The secret is read from ``os.environ[deployment.secret_env]`` at call time and
never stored. Responses are read raw (``with_raw_response``) so the provider request id header and Azure's
per-image filter results survive; images are decoded and measured by ``parsing``.

Retries: the SDK would retry 408/409/429/5xx and connection errors itself, honouring ``retry-after-ms``
then ``retry-after`` (up to 60 s) and sleeping inside the worker between attempts. We set
``max_retries=0`` instead and raise ``ProviderError(RETRYABLE, retry_after=...)``: the Celery task retries
with ``countdown = retry_after or budget_backoff_seconds(attempt)``, so every attempt is recorded on the job,
counts against the deployment's time-based retry budget, and no worker sits asleep holding a slot.

Azure surfaces: "v1" uses ``OpenAI(base_url=f"{endpoint}/openai/v1")`` with ``model`` = deployment name;
"deployments" uses ``AzureOpenAI(azure_endpoint, azure_deployment, api_version)``. Auth is the ``api-key``
header, or an Entra ID bearer token from azure-identity (imported only when needed).
"""

from __future__ import annotations

import abc
import dataclasses
import os
import threading
import time
from typing import Any

import httpx2
import openai
from django.conf import settings

from studio.lib.imaging.formats import OCTET_STREAM, PNG, STORED, sniff
from studio.lib.providers.base import EditRequest, ErrorKind, GenerationRequest, ProviderError, ProviderResult
from studio.lib.providers.errors import CallContext, map_sdk_exception
from studio.lib.providers.parsing import parse_images_response, request_id_from

OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"
ENTRA_SCOPE = "https://cognitiveservices.azure.com/.default"
CONNECT_TIMEOUT_SECONDS = 10.0

_shared_client: httpx2.Client | None = None
_shared_lock = threading.Lock()
_entra_providers: dict[str, Any] = {}


def timeout_seconds(deployment=None) -> float:
    """How long one call to ``deployment`` may take: its own ``request_timeout_seconds`` when it sets one
    (a slow model needs longer than a fast one), else ``IMPRIMATUR_PROVIDER_TIMEOUT_SECONDS``."""
    own = getattr(deployment, "request_timeout_seconds", None) if deployment is not None else None
    if isinstance(own, int | float) and not isinstance(own, bool) and own > 0:
        return float(own)
    return float(settings.IMPRIMATUR_PROVIDER_TIMEOUT_SECONDS)


def provider_timeout(deployment=None) -> httpx2.Timeout:
    total = timeout_seconds(deployment)
    return httpx2.Timeout(total, connect=min(CONNECT_TIMEOUT_SECONDS, total))


def shared_http_client() -> httpx2.Client:
    """One pooled client per process: image calls are slow, connection setup should not add to them."""
    global _shared_client
    with _shared_lock:
        if _shared_client is None or _shared_client.is_closed:
            _shared_client = httpx2.Client(
                timeout=provider_timeout(),
                limits=httpx2.Limits(max_connections=20, max_keepalive_connections=10),
                follow_redirects=False,
            )
        return _shared_client


def _file(name: str, data: bytes) -> tuple[str, bytes, str]:
    """A multipart file named and typed by its content (the image API rejects a mislabelled one)."""
    fmt = sniff(data, STORED)
    return (f"{name}.{fmt.extension}", data, fmt.mime) if fmt else (f"{name}.bin", data, OCTET_STREAM)


class HostedImagesProvider(abc.ABC):
    """Shared request building, calling and parsing; subclasses build the SDK client."""

    label = "Image service"

    def __init__(self, deployment, *, http_client: httpx2.Client | None = None) -> None:
        self.deployment = deployment
        self.profile = deployment.profile
        self.http_client = http_client

    # --- client -------------------------------------------------------------------------------------
    def _secret(self) -> str:
        name = self.deployment.secret_env
        if not name:
            raise ProviderError(
                f"The deployment {self.deployment.name} does not name the environment variable holding its API "
                "key; an admin must set it.",
                kind=ErrorKind.FATAL,
                code="missing_secret",
            )
        value = os.environ.get(name, "")
        if not value:
            raise ProviderError(
                f"The environment variable {name} is not set on the server, so the deployment "
                f"{self.deployment.name} has no API key. Ask an admin to set {name}.",
                kind=ErrorKind.FATAL,
                code="missing_secret",
            )
        return value

    def _entra_token_provider(self):
        try:
            from azure.identity import DefaultAzureCredential, get_bearer_token_provider
        except ImportError as exc:
            raise ProviderError(
                f"The deployment {self.deployment.name} signs in with Entra ID, but the azure-identity package is "
                "not installed on the server. Install azure-identity or switch the deployment to an API key.",
                kind=ErrorKind.FATAL,
                code="entra_unavailable",
            ) from exc
        if ENTRA_SCOPE not in _entra_providers:
            _entra_providers[ENTRA_SCOPE] = get_bearer_token_provider(DefaultAzureCredential(), ENTRA_SCOPE)
        return _entra_providers[ENTRA_SCOPE]

    @abc.abstractmethod
    def _client(self) -> openai.OpenAI:
        """The SDK client for one call, built with the secret read now (never cached)."""

    def _extra_headers(self) -> dict[str, Any]:
        return {}

    def _context(self, size: str) -> CallContext:
        return CallContext(
            provider_label=self.label,
            model=self.deployment.model,
            endpoint=self._endpoint_label(),
            secret_env=self.deployment.secret_env,
            auth_mode=self.deployment.auth_mode,
            size=size,
            timeout=timeout_seconds(self.deployment),
            azure=False,
        )

    def _endpoint_label(self) -> str:
        return self.deployment.endpoint or OPENAI_DEFAULT_BASE_URL

    def _sdk_kwargs(self) -> dict[str, Any]:
        return {
            "http_client": self.http_client or shared_http_client(),
            "timeout": provider_timeout(self.deployment),
            "max_retries": 0,
        }

    # --- params -------------------------------------------------------------------------------------
    def _common(self, request: GenerationRequest | EditRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.deployment.model,
            "prompt": request.prompt,
            "n": request.n,
            "size": request.size,
            "quality": request.quality,
            "output_format": request.output_format,
        }
        if request.background:
            params["background"] = request.background
        if request.output_compression is not None and request.output_format in ("jpeg", "webp"):
            params["output_compression"] = request.output_compression
        return params

    def generation_params(self, request: GenerationRequest) -> dict[str, Any]:
        params = self._common(request)
        if request.moderation:
            params["moderation"] = request.moderation
        if request.safety_identifier:
            params["safety_identifier"] = request.safety_identifier
        return params

    def edit_params(self, request: EditRequest) -> dict[str, Any]:
        if not 1 <= len(request.images) <= self.profile.max_input_images:
            raise ProviderError(
                f"An edit takes 1 to {self.profile.max_input_images} images; {len(request.images)} were given.",
                kind=ErrorKind.FATAL,
                code="bad_images",
            )
        params = self._common(request)
        params["image"] = [_file(f"image-{i}", data) for i, data in enumerate(request.images)]
        if request.mask is not None:
            if not self.profile.supports_mask:
                raise ProviderError(
                    f"{self.profile.name} cannot edit part of an image: remove the mask.",
                    kind=ErrorKind.FATAL,
                    code="mask_unsupported",
                )
            params["mask"] = ("mask.png", request.mask, PNG.mime)
        if request.markup is not None:
            if request.mask is not None:
                raise ProviderError(
                    "Use either a mask or a markup sketch, not both.", kind=ErrorKind.FATAL, code="markup_with_mask"
                )
            if not self.profile.supports_markup:
                raise ProviderError(
                    f"{self.profile.name} does not take markup sketches.",
                    kind=ErrorKind.FATAL,
                    code="markup_unsupported",
                )
            params["markup"] = ("markup.png", request.markup, PNG.mime)
        # input_fidelity is a tuning hint only some models know (never gpt-image-2): omit it elsewhere.
        if request.input_fidelity and self.profile.supports_input_fidelity:
            params["input_fidelity"] = request.input_fidelity
        return params

    # --- calls --------------------------------------------------------------------------------------
    def _call(self, operation: str, params: dict[str, Any], request: GenerationRequest | EditRequest):
        ctx = self._context(request.size)
        client = self._client()
        headers = self._extra_headers()
        if request.idempotency_key:
            headers["X-Client-Request-Id"] = request.idempotency_key[:512]
        extra_body = dict(request.extra_body or {}) or None
        started = time.monotonic()
        images_api = client.images.with_raw_response
        call = images_api.generate if operation == "generate" else images_api.edit
        try:
            raw = call(**params, extra_headers=headers or None, extra_body=extra_body)
            payload = raw.http_response.json()
        except openai.OpenAIError as exc:
            raise map_sdk_exception(exc, ctx) from exc
        except ValueError as exc:
            raise ProviderError(
                f"{self.label} sent an answer we could not read; nothing was saved.",
                kind=ErrorKind.MALFORMED,
                code="malformed_response",
            ) from exc
        latency_ms = int((time.monotonic() - started) * 1000)
        request_id = request_id_from(raw.headers)
        try:
            images, usage, prompt_filters, meta = parse_images_response(payload)
        except ProviderError as exc:
            exc.request_id = request_id
            raise
        meta["url"] = str(raw.http_response.request.url).split("?", 1)[0]
        return ProviderResult(
            images=images,
            usage=usage,
            request_id=request_id,
            latency_ms=latency_ms,
            prompt_filter_results=prompt_filters,
            raw_meta=meta,
        )

    def generate(self, request: GenerationRequest) -> ProviderResult:
        return self._call("generate", self.generation_params(request), request)

    def edit(self, request: EditRequest) -> ProviderResult:
        return self._call("edit", self.edit_params(request), request)


class OpenAIProvider(HostedImagesProvider):
    """OpenAI or any OpenAI-compatible base URL (``deployment.endpoint``)."""

    label = "OpenAI"

    def _client(self) -> openai.OpenAI:
        return openai.OpenAI(api_key=self._secret(), base_url=self._endpoint_label(), **self._sdk_kwargs())


class AzureOpenAIProvider(HostedImagesProvider):
    """Azure OpenAI / Microsoft Foundry, on the v1 surface or the deployments surface."""

    label = "Azure OpenAI"

    def _endpoint_label(self) -> str:
        return self.deployment.endpoint.rstrip("/")

    def _context(self, size: str) -> CallContext:
        ctx = super()._context(size)
        return dataclasses.replace(ctx, azure=True)

    @property
    def _entra(self) -> bool:
        return self.deployment.auth_mode == "entra"

    def _extra_headers(self) -> dict[str, Any]:
        # v1 with a key: send only the api-key header, never the key as a bearer token.
        if self.deployment.azure_surface == "v1" and not self._entra:
            return {"Authorization": openai.Omit()}
        return {}

    def _client(self) -> openai.OpenAI:
        endpoint = self._endpoint_label()
        if not endpoint:
            raise ProviderError(
                f"The deployment {self.deployment.name} has no endpoint URL; an admin must set it.",
                kind=ErrorKind.FATAL,
                code="missing_endpoint",
            )
        if self.deployment.azure_surface == "deployments":
            auth: dict[str, Any] = (
                {"azure_ad_token_provider": self._entra_token_provider()}
                if self._entra
                else {"api_key": self._secret()}
            )
            return openai.AzureOpenAI(
                azure_endpoint=endpoint,
                azure_deployment=self.deployment.model,
                api_version=self.deployment.api_version or "2025-04-01-preview",
                **auth,
                **self._sdk_kwargs(),
            )
        base_url = f"{endpoint}/openai/v1"
        if self._entra:
            return openai.OpenAI(api_key=self._entra_token_provider(), base_url=base_url, **self._sdk_kwargs())
        key = self._secret()
        kwargs = self._sdk_kwargs()
        return openai.OpenAI(api_key=key, base_url=base_url, default_headers={"api-key": key}, **kwargs)
