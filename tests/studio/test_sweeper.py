"""Issue 10, "every stuck state has a way out": a broker that is down never turns Generate into a 500,
and the sweeper (``jobs_sweep``) re-publishes queued jobs, re-queues running jobs past their lease,
re-screens images whose check was never answered and releases reservations of ended jobs, auditing each."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.contrib.messages import get_messages
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from studio.core.models import AuditEvent
from studio.core.outbox import services as outbox_services
from studio.core.outbox.models import OutboxMessage
from studio.generation import services, tasks
from studio.generation.models import Campaign, GenerationJob, JobStatus, Variant, VariantStatus
from studio.generation.services import execution
from studio.generation.services.launch import QUEUE_UNREACHABLE
from studio.generation.services.sweeper import jobs_sweep
from tests.studio.test_services import launch
from tests.studio.test_views import client_for, draft  # noqa: F401, F811 - fixtures

BROKER_DOWN = KombuOperationalError("[Errno 111] Connection refused")


def broker_down():
    """The broker refuses every publish (the outbox's one seam to it)."""
    return mock.patch.object(outbox_services, "task_send", side_effect=BROKER_DOWN)


def _form(workspace, ad_format) -> dict:
    return {
        "deployment": workspace.deployments.get().pk,
        "target_format": ad_format.pk,
        "n": 1,
        "quality": "low",
        "output_format": "png",
        "route": "explicit",
    }


@pytest.mark.django_db(transaction=True)  # real commits: the publish runs when the launch commits
@pytest.mark.parametrize("htmx", [True, False])
def test_generate_with_the_broker_down_answers_with_a_notice_not_a_500(
    htmx,
    client_for,  # noqa: F811
    marketer,
    draft,  # noqa: F811
    workspace,
    ad_format,
):
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    with broker_down():
        response = client_for(marketer).post(
            reverse("studio:generate", args=[workspace.slug, draft.pk]), _form(workspace, ad_format), **extra
        )
    job = GenerationJob.objects.get()
    assert job.status == JobStatus.QUEUED
    assert job.reserved_cost > 0
    assert Campaign.objects.get(pk=job.campaign_id).reserved_cost == job.reserved_cost
    # The job's run was recorded with it, in the same transaction, and waits in the outbox.
    row = OutboxMessage.objects.get(task_name=tasks.job_run.name)
    assert (row.args, row.published_at, row.attempts) == ([job.pk], None, 1)
    assert "Connection refused" in row.last_error
    if htmx:
        assert response.status_code == 202
        assert QUEUE_UNREACHABLE in response.content.decode()
    else:
        assert response.status_code == 302
        assert QUEUE_UNREACHABLE in [str(m) for m in get_messages(response.wsgi_request)]


def test_a_refused_connection_is_a_broker_outage_too(
    marketer,
    draft,  # noqa: F811
    offline_deployment,
    django_capture_on_commit_callbacks,
):  # noqa: E501
    with (
        mock.patch.object(outbox_services, "task_send", side_effect=ConnectionRefusedError(111, "refused")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        job = launch(marketer, draft, offline_deployment, n=1)
    assert job.queue_unreachable is True
    assert GenerationJob.objects.get(pk=job.pk).status == JobStatus.QUEUED


def test_a_launch_that_rolls_back_leaves_nothing_in_the_outbox(marketer, draft, offline_deployment):  # noqa: F811
    def launch_then_fail():
        with transaction.atomic():
            launch(marketer, draft, offline_deployment, n=1)
            assert OutboxMessage.objects.count() == 1
            raise RuntimeError("the request failed after the launch")

    with pytest.raises(RuntimeError):
        launch_then_fail()
    assert not OutboxMessage.objects.exists()
    assert not GenerationJob.objects.exists()


@pytest.fixture
def queued(marketer, draft, offline_deployment, django_capture_on_commit_callbacks):  # noqa: F811
    with django_capture_on_commit_callbacks(execute=False):  # committed, never published (process died)
        return launch(marketer, draft, offline_deployment, n=1)


def _age_outbox(seconds: int = 60) -> None:
    OutboxMessage.objects.update(created_at=timezone.now() - timedelta(seconds=seconds))


def test_sweeper_republishes_outbox_rows_the_broker_never_took_and_audits_each(queued):
    sent: list[tuple] = []
    with mock.patch.object(outbox_services, "task_send", side_effect=lambda *a: sent.append(a)):
        assert jobs_sweep().republished == []  # too young: its own publish may still be on its way
        _age_outbox()
        report = jobs_sweep()
    row = OutboxMessage.objects.get()
    assert report.republished == [row.pk]
    assert sent == [(tasks.job_run.name, [queued.pk], None)]
    assert row.published_at is not None
    event = AuditEvent.objects.get(action="core.outbox.republished")
    assert event.subject_id == str(row.pk)
    assert event.data["task"] == tasks.job_run.name
    with mock.patch.object(outbox_services, "task_send", side_effect=lambda *a: sent.append(a)):
        assert jobs_sweep().republished == []  # published once: never again
    assert len(sent) == 1


def test_sweeper_records_nothing_while_the_broker_is_still_down(queued):
    _age_outbox()
    with broker_down():
        report = jobs_sweep()
        again = jobs_sweep(now=timezone.now() + timedelta(hours=1))
    assert report.republished == again.republished == [] == again.requeued
    row = OutboxMessage.objects.get()  # one row for the job, however often the sweeper runs
    assert row.published_at is None
    assert row.attempts == 2
    assert not AuditEvent.objects.filter(action__in=["core.outbox.republished", "studio.job.requeued"]).exists()


def test_the_periodic_task_is_scheduled_and_runs_the_queued_job(queued, settings, django_capture_on_commit_callbacks):
    assert settings.CELERY_BEAT_SCHEDULE["jobs-sweep"]["task"] == tasks.jobs_sweep.name
    _age_outbox()
    with (
        mock.patch.object(execution, "_screens_enqueue"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert tasks.jobs_sweep() >= 1  # eager: the re-published job runs here
    assert GenerationJob.objects.get(pk=queued.pk).status == JobStatus.SUCCEEDED


def _published() -> None:
    OutboxMessage.objects.update(published_at=timezone.now() - timedelta(minutes=30))


def test_a_queued_job_whose_message_the_broker_lost_is_requeued(queued, django_capture_on_commit_callbacks):
    _published()
    GenerationJob.objects.filter(pk=queued.pk).update(created_at=timezone.now() - timedelta(minutes=30))
    with django_capture_on_commit_callbacks(execute=False):
        report = jobs_sweep()
    assert report.requeued == [queued.pk]
    assert AuditEvent.objects.get(action="studio.job.requeued").data["status"] == "queued"
    assert OutboxMessage.objects.filter(published_at__isnull=True, args=[queued.pk]).count() == 1
    with django_capture_on_commit_callbacks(execute=False):
        assert jobs_sweep().requeued == []  # its new row waits in the outbox: no second one


def test_a_running_job_past_its_lease_is_requeued_and_taken_over(queued, django_capture_on_commit_callbacks):
    _published()
    claimed = timezone.now() - timedelta(minutes=20)
    GenerationJob.objects.filter(pk=queued.pk).update(
        status=JobStatus.RUNNING, progress=30, attempts=1, started_at=claimed, claimed_at=claimed
    )
    with django_capture_on_commit_callbacks(execute=False):
        report = jobs_sweep()
    assert report.requeued == [queued.pk]
    assert AuditEvent.objects.get(action="studio.job.requeued").data["status"] == "running"
    with mock.patch.object(execution, "_screens_enqueue"):
        job = services.job_execute(job_id=queued.pk)
    assert job.status == JobStatus.SUCCEEDED


def test_a_retrying_job_whose_retry_never_ran_is_requeued(queued, django_capture_on_commit_callbacks):
    _published()
    claimed = timezone.now() - timedelta(hours=1)
    GenerationJob.objects.filter(pk=queued.pk).update(
        status=JobStatus.RETRYING, attempts=2, started_at=claimed, claimed_at=claimed
    )
    with django_capture_on_commit_callbacks(execute=False):
        report = jobs_sweep()
    assert report.requeued == [queued.pk]
    assert AuditEvent.objects.get(action="studio.job.requeued").data["status"] == "retrying"
    recent = timezone.now() - timedelta(minutes=5)  # a retry countdown may still be pending: leave it
    GenerationJob.objects.filter(pk=queued.pk).update(claimed_at=recent)
    OutboxMessage.objects.update(published_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=False):
        assert jobs_sweep().requeued == []


def test_a_running_job_with_a_live_lease_is_left_alone_and_never_called_twice(queued):
    _published()
    now = timezone.now()
    GenerationJob.objects.filter(pk=queued.pk).update(status=JobStatus.RUNNING, started_at=now, claimed_at=now)
    assert jobs_sweep().requeued == []
    factory = mock.Mock(side_effect=AssertionError("a second provider call"))
    job = services.job_execute(job_id=queued.pk, provider_factory=factory)
    assert job.status == JobStatus.RUNNING
    factory.assert_not_called()


def test_a_variant_whose_check_was_never_queued_is_rescreened(queued, django_capture_on_commit_callbacks, monkeypatch):
    # The image check as a task of its own, as in a workspace with a hosted image screener.
    monkeypatch.setattr(execution, "screens_image_pixels", lambda workspace: True)
    _published()
    with broker_down(), django_capture_on_commit_callbacks(execute=True):
        job = services.job_execute(job_id=queued.pk)  # the job ends; its images' checks are not queued
    assert job.status == JobStatus.SUCCEEDED
    variant = Variant.objects.get(job=job)
    assert variant.status == VariantStatus.SAFETY_PENDING
    row = OutboxMessage.objects.get(published_at__isnull=True)
    assert (row.task_name, row.args) == (tasks.safety_retry_pending_variant.name, [variant.pk])
    _age_outbox()
    sent: list[tuple] = []
    with mock.patch.object(outbox_services, "task_send", side_effect=lambda *a: sent.append(a)):
        report = jobs_sweep()
    assert report.republished == [row.pk]
    assert sent == [(tasks.safety_retry_pending_variant.name, [variant.pk], None)]
    # A check sent but never answered (its message lost) is sent again once it is stale.
    later = timezone.now() + timedelta(minutes=30)
    Variant.objects.filter(pk=variant.pk).update(created_at=timezone.now() - timedelta(minutes=30))
    variant.assessments.update(created_at=timezone.now() - timedelta(minutes=30))
    with django_capture_on_commit_callbacks(execute=False):
        report = jobs_sweep(now=later)
    assert report.rescreened == [variant.pk]
    assert AuditEvent.objects.get(action="studio.variant.rescreen_requeued").subject_id == str(variant.pk)


def test_an_ended_job_still_holding_a_reservation_releases_it(queued):
    GenerationJob.objects.filter(pk=queued.pk).update(status=JobStatus.FAILED)
    campaign = Campaign.objects.get(pk=queued.campaign_id)
    held = queued.reserved_cost
    assert campaign.reserved_cost == held > 0
    assert jobs_sweep().released == [queued.pk]
    assert Campaign.objects.get(pk=campaign.pk).reserved_cost == Decimal(0)
    assert Campaign.objects.get(pk=campaign.pk).spent_cost == campaign.spent_cost
    assert GenerationJob.objects.get(pk=queued.pk).reserved_cost == 0
    assert AuditEvent.objects.filter(action="studio.job.reservation_released").count() == 1
    assert jobs_sweep().released == []  # idempotent


def test_the_job_card_backs_off_and_says_since_when_it_waits(client_for, marketer, workspace, queued):  # noqa: F811
    url = reverse("studio:job_status", args=[workspace.slug, queued.pk])
    first = client_for(marketer).get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="load delay:1s"' in first
    assert "?poll=1" in first
    since = timezone.localtime(queued.created_at).strftime("%H:%M")
    assert f"Waiting for a worker since {since}" in first
    later = client_for(marketer).get(url + "?poll=20", HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="load delay:15s"' in later
    assert "every 1s" not in later
    assert client_for(marketer).get(url + "?poll=99999999999", HTTP_HX_REQUEST="true").status_code == 200


def _recorded_but_not_settled(queued) -> GenerationJob:
    """The worker recorded the success and stopped before counting its cost on the campaign."""
    _published()  # the job's own message was delivered (to this worker)
    with mock.patch.object(execution, "budget_settle_recorded", return_value=False):
        services.job_execute(job_id=queued.pk)
    job = GenerationJob.objects.get(pk=queued.pk)
    assert job.status == JobStatus.SUCCEEDED
    assert job.settle_pending
    return job


def test_a_success_whose_worker_stopped_before_the_settle_is_counted_by_the_sweeper(queued):
    campaign = Campaign.objects.get(pk=queued.campaign_id)
    job = _recorded_but_not_settled(queued)
    # Meanwhile the campaign still holds the job's reservation (the estimate the launch checked).
    assert Campaign.objects.get(pk=campaign.pk).reserved_cost == job.reserved_cost == queued.reserved_cost > 0
    assert jobs_sweep().released == []  # a moment after its record the job's own worker settles it
    later = timezone.now() + timedelta(hours=2)
    assert jobs_sweep(now=later).released == [job.pk]
    after = Campaign.objects.get(pk=campaign.pk)
    assert after.reserved_cost == 0
    assert after.spent_cost == campaign.spent_cost + job.actual_cost
    settled = GenerationJob.objects.get(pk=job.pk)
    assert settled.reserved_cost == 0
    assert not settled.settle_pending
    event = AuditEvent.objects.get(action="studio.job.cost_settled")
    assert event.subject_id == str(job.pk)
    assert event.actor_id is None
    assert jobs_sweep(now=later).released == []  # counted once


def test_a_redelivered_job_recorded_but_not_settled_is_settled_without_a_second_call(queued):
    campaign = Campaign.objects.get(pk=queued.campaign_id)
    job = _recorded_but_not_settled(queued)
    factory = mock.Mock(side_effect=AssertionError("a second provider call"))
    again = services.job_execute(job_id=job.pk, provider_factory=factory)
    factory.assert_not_called()
    assert again.reserved_cost == 0
    assert not again.settle_pending
    after = Campaign.objects.get(pk=campaign.pk)
    assert after.reserved_cost == 0
    assert after.spent_cost == campaign.spent_cost + job.actual_cost
    assert not AuditEvent.objects.filter(action="studio.job.cost_settled").exists()  # not a repair


def test_a_job_that_waited_long_for_a_slot_renews_its_claim_so_the_sweeper_leaves_its_call_alone(queued, monkeypatch):
    _published()
    stale = timezone.now() - timedelta(minutes=20)  # claimed, then waited past the lease for a slot
    seen: dict[str, object] = {}

    def slot_after_a_long_wait(deployment):
        GenerationJob.objects.filter(pk=queued.pk).update(claimed_at=stale)
        return contextlib.nullcontext()

    real_refresh = execution.claim_refresh

    def refresh_then_sweep(job):
        real_refresh(job)
        seen["requeued"] = jobs_sweep().requeued  # the sweeper runs while the call is under way

    monkeypatch.setattr(execution, "deployment_slot", slot_after_a_long_wait)
    monkeypatch.setattr(execution, "CLAIM_REFRESH_AFTER_WAIT_S", -1.0)  # every wait counts as long
    monkeypatch.setattr(execution, "claim_refresh", refresh_then_sweep)
    with mock.patch.object(execution, "_screens_enqueue"):
        job = services.job_execute(job_id=queued.pk)
    assert seen["requeued"] == []
    assert job.status == JobStatus.SUCCEEDED
    assert job.attempts == 1
