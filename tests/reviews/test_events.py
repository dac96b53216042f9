"""The review and publishing vocabulary: every event the workflow writes is a registered type with
the subject kind stored in the chain, and renders as a sentence."""

from __future__ import annotations

import pytest

from approvals.reviews import services
from studio.core.events import registry
from studio.core.models import AuditEvent
from studio.safety.models import SafetyVerdict
from tests.approvals.factories_reviews import variant_for

pytestmark = pytest.mark.django_db

EXPECTED = {
    "approvals.review.submitted": "approvals.review",
    "approvals.review.superseded": "approvals.review",
    "approvals.safety.override_requested": "approvals.review",
    "approvals.stage.approved": "approvals.decision",
    "approvals.stage.approved_with_changes": "approvals.decision",
    "approvals.stage.changes_requested": "approvals.decision",
    "approvals.stage.rejected": "approvals.decision",
    "approvals.safety.override_granted": "approvals.decision",
    "approvals.safety.override_refused": "approvals.decision",
    "approvals.stage.reminded": "approvals.reviewstage",
    "approvals.stage.escalated": "approvals.reviewstage",
    "approvals.comment.added": "approvals.comment",
    "approvals.comment.resolved": "approvals.comment",
    "approvals.publication.created": "approvals.publication",
}


def test_every_workflow_event_is_registered_with_its_chain_subject_kind():
    for action, kind in EXPECTED.items():
        event_type = registry.require(action)
        assert event_type.subject_kind == kind
        assert event_type.label


def test_written_events_match_their_type_and_render_a_sentence(workspace, marketer, reviewer, campaign):
    variant = variant_for(workspace, creator=marketer, campaign=campaign, verdict=SafetyVerdict.ALLOW)
    review = services.variant_submit(actor=marketer, variant=variant)
    services.comment_add(actor=reviewer, variant=variant, text="Logo too small", box=(0.1, 0.1, 0.2, 0.2))
    services.review_decide(actor=reviewer, stage=review.stages.get(), outcome="approve", expected_sha256=variant.sha256)
    events = list(AuditEvent.objects.filter(workspace=workspace).order_by("seq"))
    written = [e for e in events if e.action in EXPECTED]
    assert [e.action for e in written] == [
        "approvals.review.submitted",
        "approvals.comment.added",
        "approvals.stage.approved",
    ]
    for event in written:
        assert event.subject_type == EXPECTED[event.action]
    approval = registry.require("approvals.stage.approved")
    sentence = approval.render(actor="Rob", subject="“Spring sale” variant 3", data=written[-1].data)
    assert sentence == "Rob approved the brand review of “Spring sale” variant 3"
    comment = registry.require("approvals.comment.added").render(actor="Rob", subject="", data=written[1].data)
    assert comment == f"Rob commented on variant {variant.pk}: “Logo too small”"
