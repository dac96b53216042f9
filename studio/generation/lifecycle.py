"""The variant's lifecycle: one table of allowed status changes and the one service that makes them.

Every write of ``Variant.status`` goes through ``variant_transition`` — the safety check (ready or
blocked), the review workflow (in review, approved, changes requested, rejected, superseded, an override
lifting a block) and publishing. The table is read from what the product did before it had one owner;
adding an edge is a product decision, so it is made here and nowhere else.

New variants are born ``safety_pending`` (``Variant.objects.create``); that is not a transition.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction

from studio.core.errors import Refusal
from studio.generation import events
from studio.generation.models import Variant, VariantStatus

S = VariantStatus

VARIANT_TRANSITIONS: dict[str, frozenset[str]] = {
    # the safety check's combined verdict (image + prompt) is final
    S.SAFETY_PENDING: frozenset({S.READY, S.BLOCKED}),
    # submitted for review; or a later screening (e.g. of the prompt) blocks it after all
    S.READY: frozenset({S.IN_REVIEW, S.BLOCKED}),
    # a compliance override lifts the block (the image still needs review before publishing)
    S.BLOCKED: frozenset({S.READY}),
    # a review decision closes it, or an edit replaced the version while it was in review
    S.IN_REVIEW: frozenset({S.APPROVED, S.CHANGES_REQUESTED, S.REJECTED, S.SUPERSEDED}),
    # published in at least one format; or its reviewer (or a workspace admin) reopened the decision
    # before anything was published (approvals.reviews.services.reopen), so it is in review again
    S.APPROVED: frozenset({S.PUBLISHED, S.IN_REVIEW}),
    S.CHANGES_REQUESTED: frozenset({S.IN_REVIEW}),
    S.REJECTED: frozenset({S.IN_REVIEW}),
    S.PUBLISHED: frozenset(),
    S.SUPERSEDED: frozenset(),
}


class TransitionRefused(Refusal):
    """The variant cannot move from its current status to the one asked for."""

    code = "transition_refused"
    default_message = "This image cannot change to that status from where it is now."
    status = 409


def transition_allowed(current: str, to: str) -> bool:
    return to in VARIANT_TRANSITIONS.get(current, frozenset())


def _label(status: str) -> str:
    return VariantStatus(status).label.lower() if status in VariantStatus.values else repr(status)


def variant_transition(
    *,
    actor: Any,
    variant: Variant,
    to: str,
    event: Callable[[Variant], Any] | None = None,
    locked_status: str | None = None,
    also_save: tuple[str, ...] = (),
) -> Variant:
    """Move ``variant`` to status ``to`` and record it, or refuse.

    Locks the row first, so two concurrent changes see each other; checks the edge against
    ``VARIANT_TRANSITIONS``; saves ``status`` (and the caller's ``also_save`` fields, in the same
    ``UPDATE``). The caller's own domain event (a review decision, a safety verdict) records the change
    when given as ``event``; otherwise a generic ``studio.variant.status_changed`` event does. The passed
    instance is updated too, and returned.

    ``locked_status``: the status the caller read while locking the row itself, inside the transaction it
    is in now (the safety check does). The edge is checked against it, and the change is written in the
    caller's transaction without locking and reading the row a second time or a savepoint of its own.
    """
    if locked_status is not None:
        _refuse_unless_allowed(locked_status, to)
        return _transition_write(actor, variant, to, event, locked_status, also_save)
    with transaction.atomic():
        current = (
            Variant.objects.select_for_update(of=("self",), no_key=True)
            .values_list("status", flat=True)
            .get(pk=variant.pk)
        )
        _refuse_unless_allowed(current, to)
        return _transition_write(actor, variant, to, event, current, also_save)


def _refuse_unless_allowed(current: str, to: str) -> None:
    if not transition_allowed(current, to):
        raise TransitionRefused(f"This image is {_label(current)}, so it cannot become {_label(to)}.")


def _transition_write(actor, variant: Variant, to: str, event, previous: str, also_save: tuple[str, ...]) -> Variant:
    # Saved through the caller's instance (status only), so the caller sees the new status.
    variant.status = to
    variant.save(update_fields=["status", *also_save])
    if event is not None:
        event(variant)
    else:
        events.variant_status_changed(variant=variant, actor=actor, previous=previous)
    return variant
