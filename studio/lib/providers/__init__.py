"""Image providers behind one interface (see ``base``), chosen per deployment by ``get_provider``.

Deployments are data: the provider kind, endpoint, model/deployment name and the *name* of the environment
variable holding the key. The key itself is read when a call is made, never stored or cached here.
"""

from __future__ import annotations

import httpx2

from studio.lib.providers.base import (
    EditRequest,
    ErrorKind,
    GeneratedImage,
    GenerationRequest,
    ImageProvider,
    ProviderError,
    ProviderResult,
    Usage,
)
from studio.lib.providers.hosted import AzureOpenAIProvider, OpenAIProvider
from studio.lib.providers.offline import OfflineProvider, offline_font_coverage

__all__ = [
    "AzureOpenAIProvider",
    "EditRequest",
    "ErrorKind",
    "GeneratedImage",
    "GenerationRequest",
    "ImageProvider",
    "OfflineProvider",
    "OpenAIProvider",
    "ProviderError",
    "ProviderResult",
    "Usage",
    "get_provider",
    "offline_font_coverage",
]


def get_provider(deployment, *, http_client: httpx2.Client | None = None) -> ImageProvider:
    """The provider for ``deployment``. Never raises for configuration problems (a missing key variable,
    say): those surface as ``ProviderError(FATAL)`` from the call itself, where the job records them."""
    if deployment.provider == "azure-openai":
        return AzureOpenAIProvider(deployment, http_client=http_client)
    if deployment.provider == "openai":
        return OpenAIProvider(deployment, http_client=http_client)
    if deployment.provider == "offline":
        return OfflineProvider(deployment)
    return _UnknownProvider(deployment)


class _UnknownProvider:
    """A deployment whose provider kind this version does not know: every call fails with the fix."""

    label = "Unknown provider"

    def __init__(self, deployment) -> None:
        self.deployment = deployment

    def _fail(self, _request) -> ProviderResult:
        raise ProviderError(
            f"The deployment {self.deployment.name} uses a provider this version does not support "
            f"({self.deployment.provider!r}); an admin must change it.",
            kind=ErrorKind.FATAL,
            code="unknown_provider",
        )

    generate = _fail
    edit = _fail
