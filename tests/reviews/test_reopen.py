"""Undo (within seconds, by the maker) and Reopen (the maker or a workspace admin, before publication)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from approvals.reviews import services
from approvals.reviews.models import Decision, DecisionOutcome, ReviewStatus, StageKind, StageStatus
from approvals.reviews.services.reopen import NotReopenable, UndoExpired
from studio.core.errors import Forbidden
from studio.core.models import AuditEvent, Notification, Role
from studio.generation.models import VariantStatus
from studio.safety.models import SafetyVerdict
from tests.approvals.factories_reviews import member, variant_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def variant(workspace, marketer, campaign):
    return variant_for(workspace, creator=marketer, campaign=campaign)


@pytest.fixture
def review(variant, marketer, reviewer):
    return services.variant_submit(actor=marketer, variant=variant)


def _decide(review, actor, outcome=DecisionOutcome.APPROVE, note="", kind=StageKind.BRAND):
    stage = review.stages.get(kind=kind)
    return services.review_decide(
        actor=actor, stage=stage, outcome=outcome, note=note, expected_sha256=review.variant_sha256
    )


def _age(decision, seconds):
    Decision.objects.filter(pk=decision.pk).update(created_at=decision.created_at - timedelta(seconds=seconds))
    decision.refresh_from_db()


def test_undo_of_an_approval_puts_everything_back_and_is_audited(review, variant, reviewer, marketer):
    decision = _decide(review, reviewer)
    variant.refresh_from_db()
    assert variant.status == VariantStatus.APPROVED

    services.decision_undo(actor=reviewer, decision=decision)

    review.refresh_from_db()
    variant.refresh_from_db()
    stage = review.stages.get(kind=StageKind.BRAND)
    assert review.status == ReviewStatus.OPEN
    assert review.closed_at is None
    assert stage.status == StageStatus.PENDING
    assert stage.decided_at is None
    assert not stage.decisions.exists()
    assert variant.status == VariantStatus.IN_REVIEW
    event = AuditEvent.objects.filter(action="approvals.decision.undone").get()
    assert event.actor == reviewer
    assert event.data["outcome"] == "approve"
    assert event.data["decision"] == decision.pk
    assert Notification.objects.filter(user=marketer, kind="review.reopened").exists()
    # and it can be decided again, differently
    again = _decide(review, reviewer, DecisionOutcome.REQUEST_CHANGES, note="Warmer light")
    variant.refresh_from_db()
    assert again.outcome == DecisionOutcome.REQUEST_CHANGES
    assert variant.status == VariantStatus.CHANGES_REQUESTED


def test_undo_only_by_the_maker_and_only_within_the_window(review, reviewer, workspace):
    other = member(workspace, "reviewer2", Role.BRAND_REVIEWER)
    decision = _decide(review, reviewer)
    with pytest.raises(Forbidden):
        services.decision_undo(actor=other, decision=decision)
    _age(decision, services.UNDO_SECONDS + 30)
    with pytest.raises(UndoExpired):
        services.decision_undo(actor=reviewer, decision=decision)
    assert Decision.objects.filter(pk=decision.pk).exists()
    assert not AuditEvent.objects.filter(action="approvals.decision.undone").exists()


def test_reopen_by_the_maker_later_and_by_an_admin(review, reviewer, workspace, variant, marketer):
    decision = _decide(review, reviewer, DecisionOutcome.REJECT, note="Off brand")
    _age(decision, 3600)
    stranger = member(workspace, "reviewer2", Role.BRAND_REVIEWER)
    with pytest.raises(Forbidden):
        services.decision_reopen(actor=stranger, decision=decision)
    services.decision_reopen(actor=reviewer, decision=decision, reason="Wrong image")
    variant.refresh_from_db()
    assert variant.status == VariantStatus.IN_REVIEW
    event = AuditEvent.objects.filter(action="approvals.decision.reopened").get()
    assert event.data["reason"] == "Wrong image"
    assert event.data["outcome"] == "reject"

    decision = _decide(review, reviewer, DecisionOutcome.REJECT, note="Off brand after all")
    admin = member(workspace, "wsadmin", Role.ADMIN)
    services.decision_reopen(actor=admin, decision=decision, reason="Reviewer asked")
    review.refresh_from_db()
    assert review.status == ReviewStatus.OPEN


def test_reopen_refused_once_published(review, reviewer, variant):
    decision = _decide(review, reviewer)
    variant.__class__.objects.filter(pk=variant.pk).update(status=VariantStatus.PUBLISHED)
    with pytest.raises(NotReopenable, match="published"):
        services.decision_reopen(actor=reviewer, decision=decision)
    assert Decision.objects.filter(pk=decision.pk).exists()


def test_reopen_of_brand_refused_after_compliance_decided_and_restores_waiting_stage(
    workspace, marketer, reviewer, compliance, campaign
):
    variant = variant_for(workspace, creator=marketer, campaign=campaign, verdict=SafetyVerdict.REVIEW)
    review = services.variant_submit(actor=marketer, variant=variant)
    brand = _decide(review, reviewer)
    assert review.stages.get(kind=StageKind.COMPLIANCE).status == StageStatus.PENDING
    # undoing the brand approval closes the compliance stage again
    services.decision_undo(actor=reviewer, decision=brand)
    assert review.stages.get(kind=StageKind.COMPLIANCE).status == StageStatus.WAITING
    brand = _decide(review, reviewer)
    _decide(review, compliance, DecisionOutcome.REJECT, note="Claims", kind=StageKind.COMPLIANCE)
    with pytest.raises(NotReopenable, match="compliance"):
        services.decision_reopen(actor=reviewer, decision=brand)


def test_a_rejection_that_cancelled_the_later_stage_restores_it(workspace, marketer, reviewer, campaign):
    variant = variant_for(workspace, creator=marketer, campaign=campaign, verdict=SafetyVerdict.REVIEW)
    review = services.variant_submit(actor=marketer, variant=variant)
    decision = _decide(review, reviewer, DecisionOutcome.REJECT, note="No")
    assert review.stages.get(kind=StageKind.COMPLIANCE).status == StageStatus.CANCELLED
    services.decision_undo(actor=reviewer, decision=decision)
    assert review.stages.get(kind=StageKind.COMPLIANCE).status == StageStatus.WAITING
    assert review.stages.get(kind=StageKind.BRAND).status == StageStatus.PENDING


# --- views ----------------------------------------------------------------------------------------


def test_queue_offers_undo_after_a_decision_and_the_button_reverts(client, review, reviewer, variant):
    client.force_login(reviewer)
    stage = review.stages.get(kind=StageKind.BRAND)
    url = reverse("approvals:review_decide", args=[review.workspace.slug, review.pk, stage.pk])
    response = client.post(url, {"outcome": "approve", "expected_sha256": review.variant_sha256})
    assert response.status_code == 302
    page = client.get(reverse("approvals:queue")).content.decode()
    undo_url = reverse("approvals:decision_undo", args=[review.workspace.slug, Decision.objects.get().pk])
    assert "data-undo" in page
    assert undo_url in page
    assert ">Undo</button>" in page
    # shown once: a reload no longer offers it
    assert undo_url not in client.get(reverse("approvals:queue")).content.decode()
    response = client.post(undo_url)
    assert response.status_code == 302
    assert response["Location"] == reverse("approvals:review_detail", args=[review.workspace.slug, review.pk])
    variant.refresh_from_db()
    assert variant.status == VariantStatus.IN_REVIEW
    assert not Decision.objects.exists()


def test_undo_of_someone_elses_decision_in_another_workspace_is_404(client, review, reviewer):
    from tests import factories as f

    decision = _decide(review, reviewer)
    outsider = f.UserFactory(username="outsider")
    other = f.WorkspaceFactory(slug="elsewhere")
    f.MembershipFactory(user=outsider, workspace=other, role=Role.BRAND_REVIEWER)
    client.force_login(outsider)
    assert client.post(reverse("approvals:decision_undo", args=["elsewhere", decision.pk])).status_code == 404


def test_review_page_offers_reopen_to_the_maker_and_it_works(client, review, reviewer, variant):
    decision = _decide(review, reviewer, DecisionOutcome.REQUEST_CHANGES, note="Crop tighter")
    client.force_login(reviewer)
    detail = reverse("approvals:review_detail", args=[review.workspace.slug, review.pk])
    page = client.get(detail).content.decode()
    reopen_url = reverse("approvals:decision_reopen", args=[review.workspace.slug, decision.pk])
    assert reopen_url in page
    assert "Reopen this decision" in page
    response = client.post(reopen_url, {"reason": "Misclicked"})
    assert response.status_code == 302
    variant.refresh_from_db()
    assert variant.status == VariantStatus.IN_REVIEW


def test_review_page_hides_reopen_from_others(client, review, reviewer, workspace):
    _decide(review, reviewer, DecisionOutcome.REQUEST_CHANGES, note="Crop tighter")
    other = member(workspace, "reviewer2", Role.BRAND_REVIEWER)
    client.force_login(other)
    page = client.get(reverse("approvals:review_detail", args=[review.workspace.slug, review.pk])).content.decode()
    assert "Reopen this decision" not in page


# --- per-submission due date and reviewers ------------------------------------------------------------


def test_submit_with_an_earlier_due_date_and_chosen_reviewers(client, workspace, marketer, reviewer, campaign):
    from django.utils import timezone

    other = member(workspace, "reviewer2", Role.BRAND_REVIEWER)
    variant = variant_for(workspace, creator=marketer, campaign=campaign)
    client.force_login(marketer)
    page = client.get(reverse("studio:variant", args=[workspace.slug, variant.pk])).content.decode()
    assert 'name="due_at"' in page
    assert f'name="reviewers" value="{other.pk}"' in page
    due = timezone.localtime(timezone.now() + timedelta(hours=2)).replace(second=0, microsecond=0)
    response = client.post(
        reverse("approvals:variant_submit", args=[workspace.slug, variant.pk]),
        {"due_at": due.strftime("%Y-%m-%dT%H:%M"), "reviewers": [str(other.pk)]},
    )
    assert response.status_code == 302
    stage = variant.reviews.get().stages.get(kind=StageKind.BRAND)
    assert list(stage.assignees.all()) == [other]
    assert abs((stage.due_at - due).total_seconds()) < 60
    # "assigned to me" in the queue follows the choice
    client.force_login(reviewer)
    mine = client.get(reverse("approvals:queue") + "?mine=on").content.decode()
    assert variant.draft.title not in mine or "Nothing" in mine
    client.force_login(other)
    assert variant.draft.title in client.get(reverse("approvals:queue") + "?mine=on").content.decode()


def test_submit_refuses_a_due_date_past_the_workspace_time_and_strangers(workspace, marketer, campaign):
    from django.utils import timezone

    from approvals.reviews.errors import NotSubmittable

    variant = variant_for(workspace, creator=marketer, campaign=campaign)
    with pytest.raises(NotSubmittable, match="due date"):
        services.variant_submit(
            actor=marketer, variant=variant, due_at=timezone.now() + timedelta(hours=workspace.review_sla_hours + 5)
        )
    outsider = member(workspace, "marketer2", Role.MARKETER)
    with pytest.raises(NotSubmittable, match="Choose reviewers"):
        services.variant_submit(actor=marketer, variant=variant, reviewer_ids=[outsider.pk])
    assert not variant.reviews.exists()
