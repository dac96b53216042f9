"""The generation pipeline against real PostgreSQL, Redis and a `celery worker` subprocess."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from studio.generation import services
from studio.generation.models import Campaign, GenerationJob, JobStatus, Variant, VariantStatus
from tests.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def draft(marketer, campaign, offline_deployment):
    return services.draft_create(actor=marketer, campaign=campaign, title="Worker run", text="Lemons at dawn")


def _launch(marketer, draft, deployment, n=2, enqueue=True):
    return services.job_launch(
        enqueue=enqueue,
        actor=marketer,
        version=draft.versions.get(),
        request=services.LaunchRequest(
            deployment=deployment, target_width=1080, target_height=1920, n=n, quality="low"
        ),
    )


def test_database_is_postgresql():
    assert connection.vendor == "postgresql"


def test_worker_runs_a_job_to_screened_variants(celery_worker_process, marketer, draft, offline_deployment):
    job = _launch(marketer, draft, offline_deployment, n=2)

    def done():
        job.refresh_from_db()
        return job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.BLOCKED)

    wait_for(done, timeout=60, message="the worker to finish the job")
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    wait_for(
        lambda: not Variant.objects.filter(job=job, status=VariantStatus.SAFETY_PENDING).exists(),
        timeout=60,
        message="image safety screening",
    )
    variants = list(Variant.objects.filter(job=job))
    assert len(variants) == 2
    assert all(v.status == VariantStatus.READY for v in variants)
    assert all((v.width, v.height) == (job.planned_width, job.planned_height) for v in variants)
    campaign = Campaign.objects.get(pk=job.campaign_id)
    assert campaign.reserved_cost == 0
    assert campaign.spent_cost == job.actual_cost > 0


def test_two_deliveries_of_the_same_job_make_one_set_of_variants_and_one_cost(marketer, draft, offline_deployment):
    """What a redelivered message does after a worker died mid-job: both runs race; one wins."""
    # Not enqueued: the session's worker must not race the two deliveries simulated here.
    job = _launch(marketer, draft, offline_deployment, n=2, enqueue=False)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run():
        try:
            barrier.wait()
            services.job_execute(job_id=job.pk)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert Variant.objects.filter(job=job).count() == 2
    campaign = Campaign.objects.get(pk=job.campaign_id)
    assert campaign.spent_cost == job.actual_cost
    assert campaign.reserved_cost == 0


def test_concurrent_launches_never_overspend(marketer, draft, offline_deployment, campaign):
    """Eight launches race for a budget that fits exactly two more jobs; the campaign row lock decides."""
    # Not enqueued: a worker settling jobs would change the reserved total under the assertion.
    first = _launch(marketer, draft, offline_deployment, n=1, enqueue=False)
    Campaign.objects.filter(pk=campaign.pk).update(budget=first.estimated_cost * Decimal("3.5"))
    barrier = threading.Barrier(8)
    results: list[str] = []

    def run():
        try:
            barrier.wait()
            _launch(marketer, draft, offline_deployment, n=1, enqueue=False)
            results.append("ok")
        except services.BudgetExceeded:
            results.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    campaign.refresh_from_db()
    assert sorted(results) == ["ok", "ok"] + ["refused"] * 6
    assert GenerationJob.objects.count() == 3
    assert campaign.reserved_cost == first.estimated_cost * 3 <= campaign.budget
