"""Extension points the studio's pages offer to the layers above (the approvals app fills them in its
``ready()``), so the studio shows review state on a variant without importing the review app.

Each provider is a callable ``(request, variant) -> dict`` whose keys are merged into the variant page's
template context. Providers must keep their query count constant (no per-row queries).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

VariantContextProvider = Callable[[Any, Any], dict[str, Any]]

_variant_context_providers: list[VariantContextProvider] = []


def register_variant_context(provider: VariantContextProvider) -> VariantContextProvider:
    if provider not in _variant_context_providers:
        _variant_context_providers.append(provider)
    return provider


def variant_context(request: Any, variant: Any) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for provider in _variant_context_providers:
        context.update(provider(request, variant))
    return context
