"""Extension points the studio's pages offer to the layers above (the approvals app fills them in its
``ready()``), so the studio shows review state on a variant without importing the review app.

Variant page context
    ``register_variant_context(provider)``: each provider is a callable ``(request, variant) -> dict``
    whose keys are merged into the variant page's template context (``studio/variant.html``). Providers
    must keep their query count constant (no per-row queries). The page reads these keys, and shows
    nothing for a key no provider gives:

    - ``open_review``: the variant's open review or ``None`` (``.pk``, ``.submitted_at``)
    - ``approved_review``: the approved review publishing starts from, or ``None`` (``.pk``)
    - ``publications``: the variant's publications (``.pk``, ``.width``, ``.height``, ``.target_format``)

"Fix this" comments
    ``register_fix_comment_lookup(lookup)``: one callable ``(variant, comment_id) -> comment | None``.
    ``comment_id`` is the raw ``fix_comment`` query-string value (may be ``None`` or not a number); the
    lookup answers ``None`` for anything but a region-pinned comment on *this* variant. The studio reads
    ``.text`` (the edit's instruction), ``.x``, ``.y``, ``.w``, ``.h`` (the box, 0..1 fractions, as the
    painter's mask) and ``.author`` (a user: ``get_full_name``, ``get_username``) off the result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

VariantContextProvider = Callable[[Any, Any], dict[str, Any]]
FixCommentLookup = Callable[[Any, Any], Any]

_variant_context_providers: list[VariantContextProvider] = []
_fix_comment_lookup: list[FixCommentLookup] = []


def register_variant_context(provider: VariantContextProvider) -> VariantContextProvider:
    if provider not in _variant_context_providers:
        _variant_context_providers.append(provider)
    return provider


def variant_context(request: Any, variant: Any) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for provider in _variant_context_providers:
        context.update(provider(request, variant))
    return context


def register_fix_comment_lookup(lookup: FixCommentLookup) -> FixCommentLookup:
    """Set the one lookup behind "Fix this" links (a later registration replaces an earlier one)."""
    _fix_comment_lookup[:] = [lookup]
    return lookup


def fix_comment_lookup(variant: Any, comment_id: Any) -> Any:
    """The comment a "Fix this" link points at, or ``None`` (also when no app registered a lookup)."""
    if not _fix_comment_lookup or comment_id is None:
        return None
    return _fix_comment_lookup[0](variant, comment_id)


# Jobs a layer above schedules itself (the production runs' cells, published on their own "batch" queue
# and repaired by their own sweeper). ``register_self_scheduled_jobs(source)``: ``source()`` returns a
# queryset of job ids; the studio's sweeper leaves those jobs alone, so a run's queued cells are never
# re-published onto the interactive queue (nor run after the run was cancelled).
SelfScheduledJobs = Callable[[], Any]
_self_scheduled_jobs: list[SelfScheduledJobs] = []


def register_self_scheduled_jobs(source: SelfScheduledJobs) -> SelfScheduledJobs:
    if source not in _self_scheduled_jobs:
        _self_scheduled_jobs.append(source)
    return source


def self_scheduled_jobs() -> list[Any]:
    """Querysets of job ids other layers schedule themselves (empty when none registered)."""
    return [source() for source in _self_scheduled_jobs]
