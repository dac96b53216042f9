"""Two reviewers decide the same stage at the same moment on real PostgreSQL: row locks make exactly one
decision win; the other reviewer is told who decided first."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from approvals.reviews import services
from approvals.reviews.models import Decision, StageStatus
from studio.core.models import Role
from studio.generation.models import VariantStatus
from tests import factories as f
from tests.approvals.factories_reviews import member, variant_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_two_reviewers_decide_same_stage_at_once():
    assert connection.vendor == "postgresql", "this test needs real row locks (run it against PostgreSQL)"
    workspace = f.WorkspaceFactory(slug="race", name="Race")
    marketer = member(workspace, "race-mia", Role.MARKETER)
    first = member(workspace, "race-rob", Role.BRAND_REVIEWER)
    second = member(workspace, "race-bea", Role.BRAND_REVIEWER)
    variant = variant_for(workspace, creator=marketer)
    review = services.variant_submit(actor=marketer, variant=variant)
    stage = review.stages.get()

    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def decide(user, outcome: str) -> None:
        try:
            barrier.wait(timeout=10)
            results[user.username] = services.review_decide(
                actor=user,
                stage=stage,
                outcome=outcome,
                note="" if outcome == "approve" else "Not on brand",
                expected_sha256=variant.sha256,
            )
        except Exception as exc:  # recorded and asserted below
            results[user.username] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=decide, args=(first, "approve")),
        threading.Thread(target=decide, args=(second, "reject")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert Decision.objects.filter(stage=stage).count() == 1
    winner = Decision.objects.get(stage=stage)
    loser_name = second.username if winner.reviewer_id == first.pk else first.username
    loser = results[loser_name]
    assert isinstance(loser, services.AlreadyDecided), loser
    assert f"Already decided by {winner.reviewer.username} at" in loser.message
    stage.refresh_from_db()
    variant.refresh_from_db()
    expected = (
        (StageStatus.APPROVED, VariantStatus.APPROVED)
        if winner.outcome == "approve"
        else (StageStatus.REJECTED, VariantStatus.REJECTED)
    )
    assert (stage.status, variant.status) == expected
