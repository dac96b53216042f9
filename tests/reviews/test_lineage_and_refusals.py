"""Separation of duties over the whole lineage (re-runs, draft authors, every version's creators), and
the trace a refused decision leaves in the audit chain."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from approvals.reviews import selectors, services
from approvals.reviews.models import Decision, StageKind
from studio.core.audit import audit_verify
from studio.core.models import AuditEvent, Role
from studio.core.permissions import SelfApprovalForbidden
from studio.generation.models import VariantStatus
from tests import factories as f
from tests.approvals.factories_reviews import member, variant_for

pytestmark = pytest.mark.django_db


def last_event(workspace) -> AuditEvent:
    return AuditEvent.objects.filter(workspace=workspace).order_by("-seq").first()


def rerun_of(original, *, by):
    """What "Re-run exactly" makes: a new job pointing at ``original``, its variant made by ``by``."""
    job = f.GenerationJobFactory(
        draft_version=original.job.draft_version,
        campaign=original.job.campaign,
        workspace=original.workspace,
        deployment=original.job.deployment,
        created_by=by,
        rerun_of=original.job,
    )
    return f.VariantFactory(
        job=job, workspace=original.workspace, draft=original.draft, created_by=by, status=VariantStatus.READY
    )


def job_on(draft, *, by, version=None, parents=()):
    """A variant made by ``by`` from ``draft`` (its latest version unless one is given)."""
    version = version or draft.versions.order_by("-number").first()
    job = f.GenerationJobFactory(
        draft_version=version,
        campaign=draft.campaign,
        workspace=draft.workspace,
        deployment=f.DeploymentFactory(workspace=draft.workspace),
        created_by=by,
    )
    variant = f.VariantFactory(
        job=job, workspace=draft.workspace, draft=draft, created_by=by, status=VariantStatus.READY
    )
    if parents:
        variant.parents.add(*parents)
    return variant


@pytest.fixture
def marketers_draft(workspace, marketer, campaign):
    draft = f.PromptDraftFactory(campaign=campaign, workspace=workspace, created_by=marketer)
    f.DraftVersionFactory(draft=draft, created_by=marketer, number=1)
    return draft


def brand_stage(review):
    return review.stages.get(kind=StageKind.BRAND)


# --- lineage ------------------------------------------------------------------------------------


def test_admin_cannot_approve_a_rerun_of_their_own_job(workspace, marketer, ws_admin, reviewer, marketers_draft):
    # The draft is the marketer's: only the re-run links the admin to the image.
    admins = job_on(marketers_draft, by=ws_admin)
    laundered = rerun_of(admins, by=marketer)
    review = services.variant_submit(actor=marketer, variant=laundered)
    with pytest.raises(SelfApprovalForbidden):
        services.review_decide(
            actor=ws_admin, stage=brand_stage(review), outcome="approve", expected_sha256=laundered.sha256
        )
    assert not Decision.objects.exists()
    assert ws_admin not in brand_stage(review).assignees.all()
    services.review_decide(
        actor=reviewer, stage=brand_stage(review), outcome="approve", expected_sha256=laundered.sha256
    )


def test_rerun_of_an_edit_of_a_rerun_still_counts_the_first_maker(workspace, marketer, ws_admin, marketers_draft):
    admins = job_on(marketers_draft, by=ws_admin)
    rerun = rerun_of(admins, by=marketer)
    edit = job_on(marketers_draft, by=marketer, parents=[rerun])
    again = rerun_of(edit, by=marketer)
    assert ws_admin.pk in selectors.lineage_creator_ids(variant=again)


def test_draft_author_who_did_not_make_the_image_cannot_approve(workspace, marketer, campaign):
    author = member(workspace, "dora", Role.BRAND_REVIEWER)
    draft = f.PromptDraftFactory(campaign=campaign, workspace=workspace, created_by=author)
    f.DraftVersionFactory(draft=draft, created_by=author, number=1)
    variant = job_on(draft, by=marketer)
    review = services.variant_submit(actor=marketer, variant=variant)
    with pytest.raises(SelfApprovalForbidden):
        services.review_decide(
            actor=author, stage=brand_stage(review), outcome="approve", expected_sha256=variant.sha256
        )


def test_someone_who_only_wrote_a_version_of_the_draft_cannot_approve(workspace, marketer, marketers_draft):
    editor = member(workspace, "vera", Role.BRAND_REVIEWER)
    first = marketers_draft.versions.get(number=1)
    f.DraftVersionFactory(draft=marketers_draft, created_by=editor, number=2)
    variant = job_on(marketers_draft, by=marketer, version=first)  # made from the marketer's own version
    review = services.variant_submit(actor=marketer, variant=variant)
    with pytest.raises(SelfApprovalForbidden):
        services.review_decide(
            actor=editor, stage=brand_stage(review), outcome="approve", expected_sha256=variant.sha256
        )


def test_unrelated_reviewer_still_approves(workspace, marketer, reviewer, marketers_draft):
    variant = job_on(marketers_draft, by=marketer)
    assert selectors.lineage_creator_ids(variant=variant) == {marketer.pk}


def test_lineage_costs_the_same_queries_at_any_depth(workspace, marketer, ws_admin, marketers_draft):
    shallow = job_on(marketers_draft, by=marketer)
    deep = job_on(marketers_draft, by=ws_admin)
    for i in range(12):  # edits and re-runs, alternating
        deep = rerun_of(deep, by=marketer) if i % 2 else job_on(marketers_draft, by=marketer, parents=[deep])
    with CaptureQueriesContext(connection) as few:
        selectors.lineage_creator_ids(variant=shallow)
    with CaptureQueriesContext(connection) as many:
        assert ws_admin.pk in selectors.lineage_creator_ids(variant=deep)
    assert len(many) == len(few) <= 2


def test_admin_approval_of_the_rerun_is_refused_with_403(workspace, marketer, ws_admin, marketers_draft):
    laundered = rerun_of(job_on(marketers_draft, by=ws_admin), by=marketer)
    review = services.variant_submit(actor=marketer, variant=laundered)
    client = Client()
    client.force_login(ws_admin)
    response = client.post(
        reverse("approvals:review_decide", args=[workspace.slug, review.pk, brand_stage(review).pk]),
        {"outcome": "approve", "expected_sha256": review.variant_sha256},
    )
    assert response.status_code == 403
    assert "someone else must approve" in response.content.decode()
    assert not Decision.objects.exists()


# --- refused decisions leave a trace --------------------------------------------------------------


def test_refused_decision_is_audited_after_the_rollback(workspace, marketer, ws_admin, marketers_draft):
    laundered = rerun_of(job_on(marketers_draft, by=ws_admin), by=marketer)
    review = services.variant_submit(actor=marketer, variant=laundered)
    with pytest.raises(SelfApprovalForbidden):
        services.decision_attempt(
            actor=ws_admin, stage=brand_stage(review), outcome="approve", expected_sha256=laundered.sha256
        )
    event = last_event(workspace)
    assert event.action == "approvals.review.decision_refused"
    assert event.subject_type == "approvals.review"
    assert event.subject_id == str(review.pk)
    assert event.actor == ws_admin
    assert event.data["outcome"] == "refused"
    assert event.data["code"] == "self_approval_forbidden"
    assert "someone else must approve" in event.data["reason"]
    assert event.data["attempted"] == "approve"
    laundered.refresh_from_db()
    assert laundered.status == VariantStatus.IN_REVIEW  # the refused decision itself changed nothing
    assert not Decision.objects.exists()
    assert audit_verify(workspace=workspace).ok


def test_refused_decision_via_the_page_is_audited(workspace, marketer, campaign):
    maker = member(workspace, "maker", Role.BRAND_REVIEWER)
    variant = variant_for(workspace, creator=maker, campaign=campaign)
    review = services.variant_submit(actor=marketer, variant=variant)
    client = Client()
    client.force_login(maker)
    response = client.post(
        reverse("approvals:review_decide", args=[workspace.slug, review.pk, brand_stage(review).pk]),
        {"outcome": "approve", "expected_sha256": "0" * 64},
    )
    assert response.status_code == 409  # the stale image is refused first
    event = last_event(workspace)
    assert event.action == "approvals.review.decision_refused"
    assert event.data["code"] == "stale_review"


def test_input_mistakes_are_not_recorded_as_refusals(workspace, marketer, reviewer, marketers_draft):
    variant = job_on(marketers_draft, by=marketer)
    review = services.variant_submit(actor=marketer, variant=variant)
    before = AuditEvent.objects.filter(workspace=workspace).count()
    with pytest.raises(services.InvalidDecision):
        services.decision_attempt(
            actor=reviewer, stage=brand_stage(review), outcome="reject", expected_sha256=variant.sha256
        )
    assert AuditEvent.objects.filter(workspace=workspace).count() == before


def test_refusal_event_is_registered_and_renders():
    from studio.core.events import registry

    kind = registry.require("approvals.review.decision_refused")
    assert kind.subject_kind == "approvals.review"
    sentence = kind.render(
        actor="Ada", subject="review 4", data={"attempted": "approve", "stage": "brand", "reason": "Not yours."}
    )
    assert sentence == "Ada was refused a decision (approve) in the brand review of review 4: Not yours."
