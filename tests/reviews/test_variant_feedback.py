"""The review's feedback on the studio's variant page: state, decisions with reasons, pins, "Fix this"."""

from __future__ import annotations

import pytest
from django.urls import reverse

from approvals.reviews import services
from approvals.reviews.models import DecisionOutcome, StageKind
from tests.approvals.factories_reviews import variant_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def variant(workspace, marketer, campaign):
    return variant_for(workspace, creator=marketer, campaign=campaign)


def _changes_requested(variant, marketer, reviewer, note="Make the glass colder"):
    review = services.variant_submit(actor=marketer, variant=variant)
    services.comment_add(actor=reviewer, variant=variant, text="Logo too small", box=(0.1, 0.2, 0.3, 0.25))
    services.comment_add(actor=reviewer, variant=variant, text="Overall nice", box=None)
    services.review_decide(
        actor=reviewer,
        stage=review.stages.get(kind=StageKind.BRAND),
        outcome=DecisionOutcome.REQUEST_CHANGES,
        note=note,
        expected_sha256=review.variant_sha256,
    )
    return review


def _page(client, variant, query=""):
    return client.get(reverse("studio:variant", args=[variant.workspace.slug, variant.pk]) + query)


def test_variant_page_shows_state_reason_pins_and_fix_this(client, variant, marketer, reviewer):
    review = _changes_requested(variant, marketer, reviewer)
    client.force_login(marketer)
    html = _page(client, variant).content.decode()
    assert "Review feedback" in html
    assert "Changes requested" in html
    assert "Make the glass colder" in html
    assert "Logo too small" in html
    assert "Overall nice" in html
    assert reverse("approvals:review_detail", args=[variant.workspace.slug, review.pk]) in html
    # the pinned comment is drawn on the image at its box (percentages) and offers "Fix this"
    assert 'data-pin-x="10" data-pin-y="20" data-pin-w="30" data-pin-h="25"' in html
    pinned = review.variant.comments.get(text="Logo too small")
    assert f"?fix_comment={pinned.pk}#edit-heading" in html
    assert "data-fix-note" in html


def test_fix_this_on_a_reason_prefills_the_instruction(client, variant, marketer, reviewer):
    _changes_requested(variant, marketer, reviewer, note="Warmer morning light please")
    decision = variant.reviews.get().stages.get().decisions.get()
    client.force_login(marketer)
    html = _page(client, variant, f"?fix_note={decision.pk}").content.decode()
    assert "Fixing" in html
    assert "reason" in html
    assert "Warmer morning light please</textarea>" in html


def test_reviewer_sees_feedback_without_fix_this(client, variant, marketer, reviewer):
    _changes_requested(variant, marketer, reviewer)
    client.force_login(reviewer)
    html = _page(client, variant).content.decode()
    assert "Make the glass colder" in html
    assert "data-fix-comment" not in html
    assert "data-fix-note" not in html


def test_never_reviewed_variant_has_no_feedback_panel(client, variant, marketer):
    client.force_login(marketer)
    assert "Review feedback" not in _page(client, variant).content.decode()


def test_feedback_query_count_is_constant(client, variant, marketer, reviewer, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _changes_requested(variant, marketer, reviewer)
    client.force_login(marketer)
    with CaptureQueriesContext(connection) as few:
        _page(client, variant)
    for i in range(6):
        services.comment_add(actor=reviewer, variant=variant, text=f"More {i}", box=(0.5, 0.5, 0.1, 0.1))
    with CaptureQueriesContext(connection) as many:
        _page(client, variant)
    assert len(many) == len(few)
