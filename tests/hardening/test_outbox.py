"""Issue 10, the transactional outbox: work to enqueue commits with the change that needs it, is published
after the commit, and what the broker never took is re-sent by the sweeper. Every POST that starts a job
(generate, edit, localise, re-run) answers a broker outage with the calm notice, never a 500; and
``generate --wait`` with the broker down still screens its images."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from studio.core.models import AuditEvent
from studio.core.outbox import outbox_enqueue, outbox_publish, outbox_republish
from studio.core.outbox import services as outbox_services
from studio.core.outbox.models import OutboxMessage
from studio.generation import services, tasks
from studio.generation.models import GenerationJob, JobStatus, Variant, VariantStatus
from studio.generation.services import execution
from studio.generation.services.launch import QUEUE_UNREACHABLE
from studio.generation.services.sweeper import jobs_sweep
from tests import factories as f

BROKER_DOWN = KombuOperationalError("Error 111 connecting to redis://:hunter2@127.0.0.1:6379/3. Refused.")


def broker_down():
    return mock.patch.object(outbox_services, "task_send", side_effect=BROKER_DOWN)


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_row_is_written_in_the_callers_transaction_and_published_after_commit(
    workspace, django_capture_on_commit_callbacks
):
    sent = []
    with (
        mock.patch.object(outbox_services, "task_send", side_effect=lambda *a: sent.append(a)),
        django_capture_on_commit_callbacks(execute=True),
        transaction.atomic(),
    ):
        pending = outbox_enqueue("some.task", [1, "two"], queue="slow", workspace=workspace)
        assert sent == []  # nothing leaves before the commit
        assert pending.published is None
    assert sent == [("some.task", [1, "two"], "slow")]
    assert pending.published is True
    assert not pending.unreachable
    row = OutboxMessage.objects.get()
    assert row.published_at is not None
    assert row.attempts == 1
    assert outbox_publish(row.pk) is True  # already published: nothing sent again
    assert len(sent) == 1


def test_a_failed_publish_keeps_the_row_and_never_stores_the_brokers_password(
    workspace, django_capture_on_commit_callbacks
):
    with broker_down(), django_capture_on_commit_callbacks(execute=True):
        pending = outbox_enqueue("some.task", [7], workspace=workspace)
    assert pending.unreachable
    row = OutboxMessage.objects.get()
    assert row.published_at is None
    assert "hunter2" not in row.last_error
    assert "redis://***@" in row.last_error


def test_republish_is_at_least_once_and_audited_in_the_rows_workspace(workspace):
    row = OutboxMessage.objects.create(task_name="some.task", args=[3], key="some.task:[3]", workspace=workspace)
    OutboxMessage.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    orphan = OutboxMessage.objects.create(task_name="other.task", args=[], key="other.task:[]")
    OutboxMessage.objects.filter(pk=orphan.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    sent = []
    with mock.patch.object(outbox_services, "task_send", side_effect=lambda *a: sent.append(a)):
        report = outbox_republish()
    assert report.published == [row.pk, orphan.pk]
    assert sent == [("some.task", [3], None), ("other.task", [], None)]
    event = AuditEvent.objects.get(action="core.outbox.republished")  # the orphan has no chain to write to
    assert event.workspace_id == workspace.pk
    assert "never sent" in event.data["reason"]


@pytest.fixture
def approved(campaign, marketer, offline_deployment):
    variant = f.VariantFactory(
        job__draft_version__draft__campaign=campaign,
        job__draft_version__locale_copy={"de": "Frühling", "fr": "Printemps"},
        job__deployment=offline_deployment,
        created_by=marketer,
        width=200,
        height=100,
    )
    Variant.objects.filter(pk=variant.pk).update(status=VariantStatus.APPROVED)
    variant.refresh_from_db()
    return variant


def _warned(response) -> bool:
    return QUEUE_UNREACHABLE in [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.django_db(transaction=True)
def test_edit_with_the_broker_down_answers_with_the_notice(marketer, approved):
    with broker_down():
        response = _client(marketer).post(
            reverse("studio:variant_edit", args=[approved.workspace.slug, approved.pk]),
            {"instruction": "Make the sky pink"},
        )
    assert response.status_code == 302
    assert _warned(response), [str(m) for m in get_messages(response.wsgi_request)]
    job = GenerationJob.objects.exclude(pk=approved.job_id).get()
    assert job.status == JobStatus.QUEUED
    assert OutboxMessage.objects.get(args=[job.pk]).published_at is None


@pytest.mark.django_db(transaction=True)
def test_localise_with_the_broker_down_answers_with_the_notice(marketer, approved):
    with broker_down():
        response = _client(marketer).post(
            reverse("studio:variant_localise", args=[approved.workspace.slug, approved.pk]),
            {"locales": ["de", "fr"]},
        )
    assert response.status_code == 302
    assert _warned(response), [str(m) for m in get_messages(response.wsgi_request)]
    jobs = GenerationJob.objects.exclude(pk=approved.job_id)
    assert jobs.count() == 2
    assert OutboxMessage.objects.filter(published_at__isnull=True, task_name=tasks.job_run.name).count() == 2


@pytest.mark.django_db(transaction=True)
def test_rerun_with_the_broker_down_answers_with_the_notice(marketer, campaign, offline_deployment):
    draft = services.draft_create(actor=marketer, campaign=campaign, title="Hero", text="A lemon")
    request = services.LaunchRequest(deployment=offline_deployment, target_width=1024, target_height=1024)
    first = services.job_launch(actor=marketer, version=draft.versions.get(), request=request, enqueue=False)
    with broker_down():
        response = _client(marketer).post(reverse("studio:job_rerun", args=[campaign.workspace.slug, first.pk]))
    assert response.status_code == 302
    assert _warned(response), [str(m) for m in get_messages(response.wsgi_request)]
    rerun = GenerationJob.objects.get(rerun_of=first)
    assert rerun.status == JobStatus.QUEUED
    assert OutboxMessage.objects.get(args=[rerun.pk]).published_at is None


@pytest.mark.django_db(transaction=True)
def test_generate_wait_with_the_broker_down_still_screens_and_leaves_the_row_for_the_sweeper(
    workspace, campaign, marketer, offline_deployment, monkeypatch
):
    # The image check as a task of its own, as in a workspace with a hosted image screener (with local
    # rules only it is recorded with the image and nothing is queued: tests/studio/test_screening_inline.py).
    monkeypatch.setattr(execution, "screens_image_pixels", lambda workspace: True)
    with broker_down():
        call_command(
            "generate",
            workspace=workspace.slug,
            deployment=offline_deployment.name,
            prompt="A lemon on a table",
            size="1024x1024",
            wait=True,
        )
    job = GenerationJob.objects.get()
    assert job.status == JobStatus.SUCCEEDED
    variant = job.variants.get()
    assert variant.status != VariantStatus.SAFETY_PENDING  # screened here, in the command's process
    row = OutboxMessage.objects.get(published_at__isnull=True)
    assert (row.task_name, row.args) == (tasks.safety_retry_pending_variant.name, [variant.pk])
    OutboxMessage.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(minutes=1))
    assert jobs_sweep().republished == [row.pk]  # eager here: the re-sent check finds nothing to do
    assert Variant.objects.get(pk=variant.pk).status == variant.status


def test_a_stale_running_job_is_requeued_once_while_its_redelivery_waits_behind_a_backlog(
    marketer, campaign, offline_deployment, django_capture_on_commit_callbacks
):
    """Found by the fault bench: the sweeper re-published a dead worker's job every sweep while the copy
    it had sent waited behind the batch, filling the queue with copies of one job."""
    draft = services.draft_create(actor=marketer, campaign=campaign, title="Hero", text="A lemon")
    request = services.LaunchRequest(deployment=offline_deployment, target_width=1024, target_height=1024)
    job = services.job_launch(actor=marketer, version=draft.versions.get(), request=request, enqueue=False)
    claimed = timezone.now() - timedelta(minutes=20)
    GenerationJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, started_at=claimed, claimed_at=claimed)
    sent = []
    with (
        mock.patch.object(outbox_services, "task_send", side_effect=lambda *a: sent.append(a)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert jobs_sweep().requeued == [job.pk]
        assert jobs_sweep(now=timezone.now() + timedelta(minutes=1)).requeued == []  # its copy is on its way
        assert jobs_sweep(now=timezone.now() + timedelta(minutes=11)).requeued == [job.pk]  # that one was lost
    assert [a[0] for a in sent] == [tasks.job_run.name, tasks.job_run.name]
