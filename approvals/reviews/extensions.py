"""Extension points the review page offers to the layers above it (publishing fills them in its
``ready()``), so a review shows its publications without the review app importing publishing.

A review-context provider is a callable ``(request, review) -> dict`` whose keys are merged into the
review page's template context. To add a section to the page, return its template under
``review_panels`` (a list; the page includes each in order). Providers must keep their query count
constant.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ReviewContextProvider = Callable[[Any, Any], dict[str, Any]]

_review_context_providers: list[ReviewContextProvider] = []


def register_review_context(provider: ReviewContextProvider) -> ReviewContextProvider:
    if provider not in _review_context_providers:
        _review_context_providers.append(provider)
    return provider


def review_context(request: Any, review: Any) -> dict[str, Any]:
    context: dict[str, Any] = {"review_panels": []}
    for provider in _review_context_providers:
        extra = dict(provider(request, review))
        panels = extra.pop("review_panels", [])
        context.update(extra)
        context["review_panels"].extend(panels)
    return context
