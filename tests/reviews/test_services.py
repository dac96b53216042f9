"""Approval workflow services: every transition, every refusal, the audit row each writes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db.models import Max
from django.utils import timezone

from approvals.reviews import services
from approvals.reviews.models import (
    ApprovalRule,
    Comment,
    Decision,
    Review,
    ReviewStage,
    StageKind,
    StagePolicy,
    StageStatus,
)
from studio.core.models import AuditEvent, Notification, Role
from studio.core.permissions import RoleRequired, SelfApprovalForbidden, SeparationOfDuties
from studio.generation.models import VariantStatus
from studio.safety.models import SafetyVerdict
from tests.approvals.factories_reviews import member, variant_for

pytestmark = pytest.mark.django_db


def last_event(workspace) -> AuditEvent:
    return AuditEvent.objects.filter(workspace=workspace).order_by("-seq").first()


def audit_count(workspace) -> int:
    return AuditEvent.objects.filter(workspace=workspace).count()


@pytest.fixture
def variant(workspace, marketer, campaign):
    return variant_for(workspace, creator=marketer, campaign=campaign)


@pytest.fixture
def submitted(variant, marketer, reviewer):
    return services.variant_submit(actor=marketer, variant=variant)


def brand_stage(review) -> ReviewStage:
    return review.stages.get(kind=StageKind.BRAND)


def compliance_stage(review) -> ReviewStage:
    return review.stages.get(kind=StageKind.COMPLIANCE)


# --- submit ---------------------------------------------------------------------------------------


def test_submit_creates_brand_stage_with_due_date_and_audits(workspace, variant, marketer, reviewer):
    before = timezone.now()
    review = services.variant_submit(actor=marketer, variant=variant)
    variant.refresh_from_db()
    assert variant.status == VariantStatus.IN_REVIEW
    assert review.variant_sha256 == variant.sha256
    stages = list(review.stages.order_by("order"))
    assert [s.kind for s in stages] == [StageKind.BRAND]
    assert stages[0].status == StageStatus.PENDING
    sla = timedelta(hours=workspace.review_sla_hours)
    assert before + sla <= stages[0].due_at <= timezone.now() + sla
    assert list(stages[0].assignees.all()) == [reviewer]
    event = last_event(workspace)
    assert event.action == "approvals.review.submitted"
    assert event.data["stages"] == ["brand"]
    assert Notification.objects.filter(user=reviewer, kind="review.assigned").exists()


def test_review_verdict_adds_waiting_compliance_stage(workspace, marketer, reviewer, compliance, campaign):
    variant = variant_for(workspace, creator=marketer, campaign=campaign, verdict=SafetyVerdict.REVIEW)
    review = services.variant_submit(actor=marketer, variant=variant)
    brand, comp = review.stages.order_by("order")
    assert (brand.kind, brand.status) == (StageKind.BRAND, StageStatus.PENDING)
    assert (comp.kind, comp.status, comp.due_at) == (StageKind.COMPLIANCE, StageStatus.WAITING, None)


def test_regulated_workspace_always_adds_compliance(workspace, marketer, reviewer, campaign):
    workspace.regulated = True
    workspace.save()
    review = services.variant_submit(
        actor=marketer, variant=variant_for(workspace, creator=marketer, campaign=campaign)
    )
    assert review.stages.count() == 2


def test_second_submit_is_refused_in_plain_words(submitted, variant, marketer, workspace):
    count = audit_count(workspace)
    with pytest.raises(services.AlreadyInReview, match="This version is already in review"):
        services.variant_submit(actor=marketer, variant=variant)
    assert Review.objects.filter(variant=variant).count() == 1
    assert audit_count(workspace) == count


def test_open_review_unique_constraint_maps_to_clear_error(workspace, variant, marketer, reviewer):
    """Even if the status check is bypassed (status left ready), the database constraint answers."""
    services.variant_submit(actor=marketer, variant=variant)
    type(variant).objects.filter(pk=variant.pk).update(status=VariantStatus.READY)
    with pytest.raises(services.AlreadyInReview, match="already in review"):
        services.variant_submit(actor=marketer, variant=variant)


@pytest.mark.parametrize(
    ("status", "verdict", "words"),
    [
        (VariantStatus.SAFETY_PENDING, SafetyVerdict.PENDING, "still being checked"),
        (VariantStatus.BLOCKED, SafetyVerdict.BLOCK, "blocked"),
        (VariantStatus.READY, SafetyVerdict.BLOCK, "blocked"),
        (VariantStatus.APPROVED, SafetyVerdict.ALLOW, "already approved"),
    ],
)
def test_submit_refuses_items_not_ready(workspace, marketer, campaign, status, verdict, words):
    variant = variant_for(workspace, creator=marketer, campaign=campaign, status=status, verdict=verdict)
    with pytest.raises(services.NotSubmittable, match=words):
        services.variant_submit(actor=marketer, variant=variant)


def test_only_marketers_submit(variant, reviewer):
    with pytest.raises(RoleRequired, match="marketer"):
        services.variant_submit(actor=reviewer, variant=variant)


# --- decide ---------------------------------------------------------------------------------------


def test_brand_approval_approves_variant_and_audits(submitted, variant, reviewer, workspace, marketer):
    decision = services.review_decide(
        actor=reviewer, stage=brand_stage(submitted), outcome="approve", expected_sha256=variant.sha256
    )
    submitted.refresh_from_db()
    variant.refresh_from_db()
    assert decision.variant_sha256 == variant.sha256
    assert submitted.status == "approved"
    assert submitted.closed_at
    assert variant.status == VariantStatus.APPROVED
    event = last_event(workspace)
    assert event.action == "approvals.stage.approved"
    assert event.subject_id == str(decision.pk)
    assert event.data["review_status"] == "approved"
    assert Notification.objects.filter(user=marketer, kind="review.approved").exists()


def test_brand_then_compliance(workspace, marketer, reviewer, compliance, campaign, django_capture_on_commit_callbacks):
    variant = variant_for(workspace, creator=marketer, campaign=campaign, verdict=SafetyVerdict.REVIEW)
    review = services.variant_submit(actor=marketer, variant=variant)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.review_decide(
            actor=reviewer, stage=brand_stage(review), outcome="approve", expected_sha256=variant.sha256
        )
    assert mail.outbox == []  # nothing is sent before the transaction commits
    for callback in callbacks:
        callback()
    comp = compliance_stage(review)
    assert comp.status == StageStatus.PENDING
    assert comp.due_at
    variant.refresh_from_db()
    assert variant.status == VariantStatus.IN_REVIEW
    assert Notification.objects.filter(user=compliance, kind="review.assigned").exists()
    assert [m.to for m in mail.outbox] == [[compliance.email]]
    services.review_decide(
        actor=compliance,
        stage=comp,
        outcome="approve_with_changes",
        note="Add the disclaimer",
        expected_sha256=variant.sha256,
    )
    variant.refresh_from_db()
    assert variant.status == VariantStatus.APPROVED
    assert last_event(workspace).action == "approvals.stage.approved_with_changes"


def test_compliance_stage_cannot_be_decided_before_brand(workspace, marketer, reviewer, compliance, campaign):
    variant = variant_for(workspace, creator=marketer, campaign=campaign, verdict=SafetyVerdict.REVIEW)
    review = services.variant_submit(actor=marketer, variant=variant)
    with pytest.raises(services.StageNotReady):
        services.review_decide(
            actor=compliance, stage=compliance_stage(review), outcome="approve", expected_sha256=variant.sha256
        )


@pytest.mark.parametrize(
    ("outcome", "variant_status", "action"),
    [
        ("request_changes", VariantStatus.CHANGES_REQUESTED, "approvals.stage.changes_requested"),
        ("reject", VariantStatus.REJECTED, "approvals.stage.rejected"),
    ],
)
def test_closing_outcomes_close_review_and_cancel_later_stages(
    workspace, marketer, reviewer, campaign, outcome, variant_status, action
):
    workspace.regulated = True
    workspace.save()
    variant = variant_for(workspace, creator=marketer, campaign=campaign)
    review = services.variant_submit(actor=marketer, variant=variant)
    comment = services.comment_add(actor=reviewer, variant=variant, text="Logo too small", box=(0.1, 0.1, 0.2, 0.2))
    services.review_decide(
        actor=reviewer,
        stage=brand_stage(review),
        outcome=outcome,
        note="Fix the logo",
        expected_sha256=variant.sha256,
        comment_ids=[comment.pk],
    )
    review.refresh_from_db()
    variant.refresh_from_db()
    assert review.status == outcome.replace("request_changes", "changes_requested").replace("reject", "rejected")
    assert variant.status == variant_status
    assert compliance_stage(review).status == StageStatus.CANCELLED
    event = last_event(workspace)
    assert event.action == action
    assert event.data["comment_ids"] == [comment.pk]
    assert event.data["note"] == "Fix the logo"


@pytest.mark.parametrize("outcome", ["approve_with_changes", "request_changes", "reject"])
def test_note_required(submitted, variant, reviewer, outcome):
    with pytest.raises(services.InvalidDecision):
        services.review_decide(
            actor=reviewer, stage=brand_stage(submitted), outcome=outcome, note="  ", expected_sha256=variant.sha256
        )
    assert not Decision.objects.exists()


def test_unknown_outcome_refused(submitted, variant, reviewer):
    with pytest.raises(services.InvalidDecision):
        services.review_decide(
            actor=reviewer, stage=brand_stage(submitted), outcome="maybe", expected_sha256=variant.sha256
        )


def test_creator_cannot_approve_own_variant(workspace, campaign, reviewer):
    # A brand reviewer who also made the image (and a marketer submitting it for them).
    maker = member(workspace, "maker", Role.BRAND_REVIEWER)
    f_marketer = member(workspace, "submitter", Role.MARKETER)
    variant = variant_for(workspace, creator=maker, campaign=campaign)
    review = services.variant_submit(actor=f_marketer, variant=variant)
    count = audit_count(workspace)
    with pytest.raises(SelfApprovalForbidden):
        services.review_decide(
            actor=maker, stage=brand_stage(review), outcome="approve", expected_sha256=variant.sha256
        )
    assert audit_count(workspace) == count
    assert maker not in brand_stage(review).assignees.all()


def test_creator_of_an_ancestor_cannot_approve(workspace, campaign, marketer):
    grandparent_maker = member(workspace, "gp", Role.BRAND_REVIEWER)
    grandparent = variant_for(workspace, creator=grandparent_maker, campaign=campaign)
    parent = variant_for(workspace, creator=marketer, campaign=campaign, parents=[grandparent])
    child = variant_for(workspace, creator=marketer, campaign=campaign, parents=[parent])
    review = services.variant_submit(actor=marketer, variant=child)
    with pytest.raises(SelfApprovalForbidden):
        services.review_decide(
            actor=grandparent_maker, stage=brand_stage(review), outcome="approve", expected_sha256=child.sha256
        )


def test_admin_who_submitted_cannot_approve(workspace, campaign, ws_admin, reviewer):
    variant = variant_for(workspace, creator=reviewer, campaign=campaign)
    review = services.variant_submit(actor=ws_admin, variant=variant)
    with pytest.raises(SelfApprovalForbidden):
        services.review_decide(
            actor=ws_admin, stage=brand_stage(review), outcome="approve", expected_sha256=variant.sha256
        )


def test_one_person_cannot_decide_both_stages(workspace, marketer, campaign):
    both = member(workspace, "both", Role.BRAND_REVIEWER)
    f_membership = both.memberships.model(user=both, workspace=workspace, role=Role.COMPLIANCE)
    f_membership.save()
    variant = variant_for(workspace, creator=marketer, campaign=campaign, verdict=SafetyVerdict.REVIEW)
    review = services.variant_submit(actor=marketer, variant=variant)
    services.review_decide(actor=both, stage=brand_stage(review), outcome="approve", expected_sha256=variant.sha256)
    with pytest.raises(SeparationOfDuties):
        services.review_decide(
            actor=both, stage=compliance_stage(review), outcome="approve", expected_sha256=variant.sha256
        )


def test_wrong_role_refused(workspace, marketer, reviewer, compliance, campaign):
    variant = variant_for(workspace, creator=marketer, campaign=campaign, verdict=SafetyVerdict.REVIEW)
    review = services.variant_submit(actor=marketer, variant=variant)
    with pytest.raises(RoleRequired):  # compliance auditors do not decide brand stages
        services.review_decide(
            actor=compliance, stage=brand_stage(review), outcome="approve", expected_sha256=variant.sha256
        )
    other_marketer = member(workspace, "otto", Role.MARKETER)
    with pytest.raises(RoleRequired):
        services.review_decide(
            actor=other_marketer, stage=brand_stage(review), outcome="approve", expected_sha256=variant.sha256
        )
    services.review_decide(actor=reviewer, stage=brand_stage(review), outcome="approve", expected_sha256=variant.sha256)
    with pytest.raises(RoleRequired):  # brand reviewers do not decide compliance stages
        services.review_decide(
            actor=member(workspace, "rita", Role.BRAND_REVIEWER),
            stage=compliance_stage(review),
            outcome="approve",
            expected_sha256=variant.sha256,
        )


def test_admin_decides_brand_but_not_compliance(workspace, marketer, ws_admin, campaign):
    variant = variant_for(workspace, creator=marketer, campaign=campaign, verdict=SafetyVerdict.REVIEW)
    review = services.variant_submit(actor=marketer, variant=variant)
    other_admin = member(workspace, "adam", Role.ADMIN)
    services.review_decide(actor=ws_admin, stage=brand_stage(review), outcome="approve", expected_sha256=variant.sha256)
    with pytest.raises(RoleRequired, match="compliance auditor"):
        services.review_decide(
            actor=other_admin, stage=compliance_stage(review), outcome="approve", expected_sha256=variant.sha256
        )


def test_member_of_other_workspace_refused(submitted, variant):
    from tests import factories as f

    outsider = member(f.WorkspaceFactory(slug="other"), "olga", Role.BRAND_REVIEWER)
    with pytest.raises(RoleRequired):
        services.review_decide(
            actor=outsider, stage=brand_stage(submitted), outcome="approve", expected_sha256=variant.sha256
        )


def test_stale_sha_refused(submitted, variant, reviewer, workspace):
    count = audit_count(workspace)
    with pytest.raises(services.StaleReview, match="changed"):
        services.review_decide(
            actor=reviewer, stage=brand_stage(submitted), outcome="approve", expected_sha256="0" * 64
        )
    assert not Decision.objects.exists()
    assert audit_count(workspace) == count


def test_already_decided_names_who_and_when(submitted, variant, reviewer, workspace):
    services.review_decide(
        actor=reviewer, stage=brand_stage(submitted), outcome="approve", expected_sha256=variant.sha256
    )
    second = member(workspace, "bea", Role.BRAND_REVIEWER)
    with pytest.raises(services.AlreadyDecided, match=r"Already decided by rob at \d{4}-\d\d-\d\d \d\d:\d\d"):
        services.review_decide(
            actor=second, stage=brand_stage(submitted), outcome="reject", note="No", expected_sha256=variant.sha256
        )
    assert Decision.objects.count() == 1


def test_all_rule_waits_for_every_assignee(workspace, marketer, campaign):
    rob, bea = member(workspace, "rob2", Role.BRAND_REVIEWER), member(workspace, "bea", Role.BRAND_REVIEWER)
    policy = StagePolicy.objects.create(workspace=workspace, kind=StageKind.BRAND, rule=ApprovalRule.ALL)
    policy.assignees.set([rob, bea])
    variant = variant_for(workspace, creator=marketer, campaign=campaign)
    review = services.variant_submit(actor=marketer, variant=variant)
    services.review_decide(actor=rob, stage=brand_stage(review), outcome="approve", expected_sha256=variant.sha256)
    assert brand_stage(review).status == StageStatus.PENDING
    with pytest.raises(services.AlreadyDecided, match="rob2"):
        services.review_decide(actor=rob, stage=brand_stage(review), outcome="approve", expected_sha256=variant.sha256)
    services.review_decide(actor=bea, stage=brand_stage(review), outcome="approve", expected_sha256=variant.sha256)
    variant.refresh_from_db()
    assert variant.status == VariantStatus.APPROVED


def test_majority_rule(workspace, marketer, campaign):
    people = [member(workspace, f"r{i}", Role.BRAND_REVIEWER) for i in range(3)]
    StagePolicy.objects.create(workspace=workspace, kind=StageKind.BRAND, rule=ApprovalRule.MAJORITY)
    variant = variant_for(workspace, creator=marketer, campaign=campaign)
    review = services.variant_submit(actor=marketer, variant=variant)
    assert set(brand_stage(review).assignees.all()) == set(people)
    services.review_decide(
        actor=people[0], stage=brand_stage(review), outcome="approve", expected_sha256=variant.sha256
    )
    assert brand_stage(review).status == StageStatus.PENDING
    services.review_decide(
        actor=people[1], stage=brand_stage(review), outcome="approve", expected_sha256=variant.sha256
    )
    assert brand_stage(review).status == StageStatus.APPROVED


def test_any_request_changes_closes_an_all_stage(workspace, marketer, campaign):
    rob, bea = member(workspace, "rob2", Role.BRAND_REVIEWER), member(workspace, "bea", Role.BRAND_REVIEWER)
    StagePolicy.objects.create(workspace=workspace, kind=StageKind.BRAND, rule=ApprovalRule.ALL)
    variant = variant_for(workspace, creator=marketer, campaign=campaign)
    review = services.variant_submit(actor=marketer, variant=variant)
    services.review_decide(actor=rob, stage=brand_stage(review), outcome="approve", expected_sha256=variant.sha256)
    services.review_decide(
        actor=bea, stage=brand_stage(review), outcome="request_changes", note="Crop", expected_sha256=variant.sha256
    )
    variant.refresh_from_db()
    assert variant.status == VariantStatus.CHANGES_REQUESTED


# --- supersede ------------------------------------------------------------------------------------


def test_supersede_closes_open_review_of_parent(submitted, variant, marketer, reviewer, workspace):
    assert services.reviews_supersede(actor=marketer, variant=variant) == 1
    submitted.refresh_from_db()
    variant.refresh_from_db()
    assert submitted.status == "superseded"
    assert variant.status == VariantStatus.SUPERSEDED
    assert brand_stage(submitted).status == StageStatus.CANCELLED
    assert last_event(workspace).action == "approvals.review.superseded"
    with pytest.raises(services.AlreadyDecided):
        services.review_decide(
            actor=reviewer, stage=brand_stage(submitted), outcome="approve", expected_sha256=variant.sha256
        )


def test_supersede_without_open_review_changes_nothing(variant, marketer, workspace):
    count = audit_count(workspace)
    assert services.reviews_supersede(actor=marketer, variant=variant) == 0
    variant.refresh_from_db()
    assert variant.status == VariantStatus.READY
    assert audit_count(workspace) == count


# --- override -------------------------------------------------------------------------------------


@pytest.fixture
def blocked(workspace, marketer, campaign):
    return variant_for(
        workspace, creator=marketer, campaign=campaign, status=VariantStatus.BLOCKED, verdict=SafetyVerdict.BLOCK
    )


def test_override_request_and_grant(blocked, marketer, compliance, workspace):
    review = services.variant_request_override(actor=marketer, variant=blocked, reason="It is a museum photo")
    assert review.is_override
    stage = review.stages.get()
    assert (stage.kind, stage.status) == (StageKind.COMPLIANCE, StageStatus.PENDING)
    assert last_event(workspace).action == "approvals.safety.override_requested"
    services.review_decide(actor=compliance, stage=stage, outcome="approve", expected_sha256=blocked.sha256)
    blocked.refresh_from_db()
    assert last_event(workspace).action == "approvals.safety.override_granted"
    # The block is lifted, but the image still has to pass brand and compliance review.
    assert (blocked.status, blocked.safety_verdict) == (VariantStatus.READY, SafetyVerdict.REVIEW)
    assert services.variant_submit(actor=marketer, variant=blocked).stages.count() == 2


def test_override_decided_by_non_compliance_refused(blocked, marketer, reviewer, ws_admin):
    review = services.variant_request_override(actor=marketer, variant=blocked, reason="Fine")
    for person in (reviewer, ws_admin):
        with pytest.raises(RoleRequired):
            services.review_decide(
                actor=person, stage=review.stages.get(), outcome="approve", expected_sha256=blocked.sha256
            )


def test_override_refused_keeps_block(blocked, marketer, compliance, workspace):
    review = services.variant_request_override(actor=marketer, variant=blocked, reason="Fine")
    services.review_decide(
        actor=compliance,
        stage=review.stages.get(),
        outcome="reject",
        note="Still graphic",
        expected_sha256=blocked.sha256,
    )
    blocked.refresh_from_db()
    assert blocked.status == VariantStatus.BLOCKED
    assert last_event(workspace).action == "approvals.safety.override_refused"


def test_override_needs_reason_and_a_block(blocked, variant, marketer):
    with pytest.raises(services.InvalidDecision):
        services.variant_request_override(actor=marketer, variant=blocked, reason=" ")
    with pytest.raises(services.NotSubmittable):
        services.variant_request_override(actor=marketer, variant=variant, reason="why not")


# --- comments -------------------------------------------------------------------------------------


def test_comment_pinned_and_resolved(variant, reviewer, workspace):
    comment = services.comment_add(actor=reviewer, variant=variant, text="Too dark", box=(0.5, 0.5, 0.25, 0.5))
    assert (comment.x, comment.y, comment.w, comment.h) == (0.5, 0.5, 0.25, 0.5)
    assert last_event(workspace).action == "approvals.comment.added"
    reply = services.comment_add(actor=reviewer, variant=variant, text="Agreed", parent=comment)
    assert reply.parent == comment
    services.comment_resolve(actor=reviewer, comment=comment)
    comment.refresh_from_db()
    assert comment.resolved
    assert last_event(workspace).action == "approvals.comment.resolved"


@pytest.mark.parametrize("box", [(0.9, 0.1, 0.2, 0.2), (-0.1, 0, 0.1, 0.1), (0.1, 0.1, 0, 0.1), ("a", 0, 0, 0)])
def test_comment_box_outside_image_refused(variant, reviewer, box):
    with pytest.raises(services.InvalidComment):
        services.comment_add(actor=reviewer, variant=variant, text="x", box=box)
    assert not Comment.objects.exists()


def test_comment_by_outsider_refused(variant):
    from tests import factories as f

    outsider = member(f.WorkspaceFactory(slug="other"), "olga", Role.BRAND_REVIEWER)
    with pytest.raises(RoleRequired):
        services.comment_add(actor=outsider, variant=variant, text="hi")


# --- reminders ------------------------------------------------------------------------------------


def test_reminder_once_then_escalation(submitted, reviewer, ws_admin, workspace):
    stage = brand_stage(submitted)
    now = stage.due_at + timedelta(minutes=1)
    assert services.stage_remind(stage=stage, now=now) is True
    assert services.stage_remind(stage=stage, now=now) is False
    assert Notification.objects.filter(user=reviewer, kind="review.reminder").count() == 1
    assert services.stage_escalate(stage=stage, now=now) is False  # not yet twice the SLA
    later = stage.due_at + timedelta(hours=workspace.review_sla_hours, minutes=1)
    assert services.stage_escalate(stage=stage, now=later) is True
    assert Notification.objects.filter(user=ws_admin, kind="review.escalated").count() == 1
    actions = set(AuditEvent.objects.filter(workspace=workspace).values_list("action", flat=True))
    assert {"approvals.stage.reminded", "approvals.stage.escalated"} <= actions
    assert AuditEvent.objects.filter(workspace=workspace).aggregate(m=Max("seq"))["m"] == audit_count(workspace)


def test_notifications_mark_read_only_own(submitted, reviewer, marketer):
    mine = Notification.objects.filter(user=reviewer).count()
    assert mine >= 1
    assert (
        services.notifications_mark_read(
            actor=marketer, ids=list(Notification.objects.filter(user=reviewer).values_list("pk", flat=True))
        )
        == 0
    )
    assert services.notifications_mark_read(actor=reviewer) == mine
