"""The variant lifecycle: every allowed edge moves and is recorded; every other edge is refused by name."""

from __future__ import annotations

import itertools

import pytest

from studio.core.models import AuditEvent
from studio.generation.lifecycle import VARIANT_TRANSITIONS, TransitionRefused, variant_transition
from studio.generation.models import Variant, VariantStatus
from tests import factories as f

ALL = list(VariantStatus.values)
EDGES = [(a, b) for a, b in itertools.product(ALL, ALL) if b in VARIANT_TRANSITIONS[a]]
NOT_EDGES = [(a, b) for a, b in itertools.product(ALL, ALL) if b not in VARIANT_TRANSITIONS[a]]


@pytest.fixture
def variant(workspace):
    return f.VariantFactory(workspace=workspace, job__workspace=workspace)


def _put(variant: Variant, status: str) -> Variant:
    Variant.objects.filter(pk=variant.pk).update(status=status)  # test setup: start from ``status``
    variant.refresh_from_db()
    return variant


def test_the_table_names_every_status_and_only_statuses():
    assert set(VARIANT_TRANSITIONS) == set(ALL)
    assert all(targets <= set(ALL) for targets in VARIANT_TRANSITIONS.values())
    assert EDGES  # and nothing moves to where it already is
    assert all(a != b for a, b in EDGES)


@pytest.mark.parametrize(("start", "to"), EDGES)
def test_every_allowed_edge_moves_and_is_recorded(variant, marketer, start, to):
    _put(variant, start)
    moved = variant_transition(actor=marketer, variant=variant, to=to)
    assert moved.status == to
    assert Variant.objects.get(pk=variant.pk).status == to
    event = AuditEvent.objects.get(action="studio.variant.status_changed")
    assert (event.subject_type, event.subject_id, event.actor) == ("studio.variant", str(variant.pk), marketer)
    assert event.data == {"from": start, "to": to}


@pytest.mark.parametrize(("start", "to"), NOT_EDGES)
def test_every_other_edge_is_refused_by_name_and_changes_nothing(variant, marketer, start, to):
    _put(variant, start)
    with pytest.raises(TransitionRefused) as refused:
        variant_transition(actor=marketer, variant=variant, to=to)
    assert refused.value.code == "transition_refused"
    assert refused.value.message
    assert Variant.objects.get(pk=variant.pk).status == start
    assert not AuditEvent.objects.filter(action="studio.variant.status_changed").exists()


def test_a_callers_own_event_records_the_change_instead(variant, marketer):
    _put(variant, VariantStatus.READY)
    seen = []
    variant_transition(actor=marketer, variant=variant, to=VariantStatus.IN_REVIEW, event=seen.append)
    assert [v.status for v in seen] == [VariantStatus.IN_REVIEW]
    assert not AuditEvent.objects.filter(action="studio.variant.status_changed").exists()


def test_an_unknown_status_is_refused(variant, marketer):
    with pytest.raises(TransitionRefused):
        variant_transition(actor=marketer, variant=variant, to="archived")


def test_the_check_reads_the_row_not_a_stale_instance(variant, marketer):
    """Two requests hold the same variant: the second sees the first one's change under the lock."""
    stale = Variant.objects.get(pk=variant.pk)
    variant_transition(actor=marketer, variant=variant, to=VariantStatus.IN_REVIEW)
    with pytest.raises(TransitionRefused):
        variant_transition(actor=marketer, variant=stale, to=VariantStatus.IN_REVIEW)
