"""Where the image check runs: with local rules only (they read text, not pixels) it is recorded with the
image, in the job's record, and nothing is queued; with a hosted image screener it stays a task."""

from __future__ import annotations

import pytest

from studio.core.models import AuditEvent
from studio.core.outbox.models import OutboxMessage
from studio.generation import services, tasks
from studio.generation.models import JobStatus, VariantStatus
from studio.generation.services import execution
from studio.safety.models import SafetyRule, SafetyVerdict
from tests.studio.test_services import launch

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(marketer, campaign, ad_format, offline_deployment):
    return services.draft_create(actor=marketer, campaign=campaign, title="Hero", text="A lemon on a table")


def _run(marketer, draft, deployment, django_capture_on_commit_callbacks, **overrides):
    with django_capture_on_commit_callbacks(execute=False):
        job = launch(marketer, draft, deployment, **overrides)
    return services.job_execute(job_id=job.pk)


def test_with_local_rules_only_the_images_are_ready_when_the_job_ends_and_no_check_is_queued(
    marketer,
    draft,
    offline_deployment,
    django_capture_on_commit_callbacks,
):
    job = _run(marketer, draft, offline_deployment, django_capture_on_commit_callbacks, n=2)
    assert job.status == JobStatus.SUCCEEDED
    variants = list(job.variants.order_by("index"))
    assert [v.status for v in variants] == [VariantStatus.READY, VariantStatus.READY]
    for variant in variants:
        assert variant.assessments.filter(stage="image").count() == 1
        verdict = AuditEvent.objects.get(action="approvals.safety.verdict", subject_id=str(variant.pk))
        assert verdict.data["verdict"] == SafetyVerdict.ALLOW
    assert not OutboxMessage.objects.filter(task_name=tasks.safety_retry_pending_variant.name).exists()


def test_a_prompt_sent_to_review_makes_images_that_go_to_review_too(
    marketer,
    draft,
    offline_deployment,
    django_capture_on_commit_callbacks,
):
    SafetyRule.objects.create(sector="", category="claims", pattern="lemon", verdict=SafetyVerdict.REVIEW)
    draft.versions.update(text="A lemon on a table")
    job = _run(marketer, draft, offline_deployment, django_capture_on_commit_callbacks, n=1)
    variant = job.variants.get()
    assert (variant.status, variant.safety_verdict) == (VariantStatus.READY, SafetyVerdict.REVIEW)


def test_with_a_hosted_image_screener_the_check_stays_a_task_of_its_own(
    marketer,
    draft,
    offline_deployment,
    django_capture_on_commit_callbacks,
    monkeypatch,
):
    monkeypatch.setattr(execution, "screens_image_pixels", lambda workspace: True)
    job = _run(marketer, draft, offline_deployment, django_capture_on_commit_callbacks, n=1)
    variant = job.variants.get()
    assert variant.status == VariantStatus.SAFETY_PENDING
    row = OutboxMessage.objects.get(task_name=tasks.safety_retry_pending_variant.name)
    assert row.args == [variant.pk]


def test_choosing_a_hosted_screener_is_what_makes_the_check_a_task(workspace):
    from studio.safety.services import screens_image_pixels

    assert not screens_image_pixels(workspace)
    workspace.safety_screeners = ["azure"]
    assert screens_image_pixels(workspace)
