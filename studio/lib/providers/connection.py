"""'Test connection' for a deployment: one minimal real call, reported in plain words.

Admins run it after entering an endpoint and key; it spends as little as the model allows (the smallest
accepted size, one image, the lowest quality) and says what went wrong in terms they can fix.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx2

from studio.lib.providers import get_provider
from studio.lib.providers.api_versions import FIXED_TEST_SIZE, surface_spec
from studio.lib.providers.base import GenerationRequest, ImageProvider, ProviderError
from studio.lib.redaction import redact
from studio.lib.sizing import SizeError, smallest_size

TEST_PROMPT = "A plain test card: one teal circle centred on a white background. No text."


@dataclass(frozen=True)
class ConnectionReport:
    ok: bool
    latency_ms: int
    requested_size: str
    returned_size: str
    message: str


def redact_secrets(text: str, *, deployment) -> str:
    """``text`` without the deployment's key (its variable's value, wherever it appears) or anything shaped
    like a key. A service (or an admin's own server) may echo the Authorization header in its error body,
    and the admin message must never show it."""
    value = os.environ.get(deployment.secret_env, "") if getattr(deployment, "secret_env", "") else ""
    return redact(text, secrets=[value])


def deployment_test_connection(
    *,
    deployment,
    http_client: httpx2.Client | None = None,
    provider_factory: Callable[..., ImageProvider] = get_provider,
) -> ConnectionReport:
    """One cheap real call to ``deployment``; never raises for what an admin can fix (the report says it),
    and never repeats the key in its message.

    Needs no database: ``deployment`` is read by attribute (a saved or unsaved ``Deployment``)."""
    profile = deployment.profile
    try:
        width, height = smallest_size(profile)
    except SizeError as exc:
        return ConnectionReport(ok=False, latency_ms=0, requested_size="", returned_size="", message=str(exc))
    size = f"{width}x{height}"
    spec = surface_spec(deployment)
    if spec is not None and not spec.documents_size(size):
        # A surface whose spec lists fixed sizes only (deployments + 2025-04-01-preview): test with one it
        # documents, so a failure means the connection, not an undocumented size.
        size = "{}x{}".format(*FIXED_TEST_SIZE)
    qualities = profile.qualities or ["auto"]
    quality = "low" if "low" in qualities else qualities[0]
    output_format = "png" if "png" in (profile.output_formats or ["png"]) else profile.output_formats[0]
    request = GenerationRequest(prompt=TEST_PROMPT, size=size, n=1, quality=quality, output_format=output_format)
    started = time.monotonic()
    try:
        result = provider_factory(deployment, http_client=http_client).generate(request)
    except ProviderError as exc:
        return ConnectionReport(
            ok=False,
            latency_ms=int((time.monotonic() - started) * 1000),
            requested_size=size,
            returned_size="",
            message=redact_secrets(exc.user_message, deployment=deployment),
        )
    latency_ms = result.latency_ms or int((time.monotonic() - started) * 1000)
    image = result.images[0]
    returned = f"{image.width}x{image.height}"
    if returned != size:
        message = (
            f"Connected, but the service returned {returned} when asked for {size}: sizes from this "
            "deployment will be re-planned from the real image."
        )
    else:
        message = f"Connected: {deployment.model} made a {returned} test image."
    return ConnectionReport(
        ok=True, latency_ms=latency_ms, requested_size=size, returned_size=returned, message=message
    )
