"""Issue 10, provider outages: a time-based retry budget per deployment (not five attempts), a circuit
breaker per deployment that pauses new calls and says so, a per-deployment timeout after which the same
long request is not re-sent at once (and the job says the attempt may have been billed), and the limiter
around every provider call."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta
from unittest import mock

import httpx2
import pytest
from django.urls import reverse
from django.utils import timezone

from studio.generation import services
from studio.generation.models import Deployment, GenerationJob, JobStatus
from studio.generation.services import breaker, execution
from studio.lib.providers import ErrorKind, OpenAIProvider, ProviderError
from studio.lib.providers.hosted import provider_timeout
from tests.studio.test_services import launch
from tests.studio.test_views import client_for, draft  # noqa: F401 - fixtures


class Failing:
    def __init__(self, error: ProviderError) -> None:
        self.error = error
        self.calls = 0

    def generate(self, request):
        self.calls += 1
        raise self.error

    edit = generate


def server_error() -> ProviderError:
    return ProviderError("OpenAI had a problem on its side (HTTP 503).", kind=ErrorKind.RETRYABLE, status_code=503)


def timed_out() -> ProviderError:
    return ProviderError("OpenAI did not answer within 120 seconds.", kind=ErrorKind.RETRYABLE, code="timeout")


@pytest.fixture
def queued(draft, marketer, offline_deployment, django_capture_on_commit_callbacks):  # noqa: F811
    with django_capture_on_commit_callbacks(execute=False):
        return launch(marketer, draft, offline_deployment, n=1)


def _run(job_id, provider):
    return services.job_execute(job_id=job_id, provider_factory=lambda d, **kw: provider)


def test_an_outage_longer_than_five_attempts_is_ridden_out_within_the_time_budget(queued, settings):
    settings.IMPRIMATUR_BREAKER_THRESHOLD = 100  # this test is about the budget alone
    provider = Failing(server_error())
    countdowns = []
    for _ in range(8):  # the old limit failed the job at attempt 5
        with pytest.raises(services.JobRetry) as retry:
            _run(queued.pk, provider)
        countdowns.append(retry.value.countdown)
    job = GenerationJob.objects.get(pk=queued.pk)
    assert job.status == JobStatus.RETRYING
    assert job.attempts == 8
    assert max(countdowns) <= 60  # capped exponential backoff
    assert countdowns[-1] > countdowns[0]
    GenerationJob.objects.filter(pk=queued.pk).update(started_at=timezone.now() - timedelta(seconds=601))
    job = _run(queued.pk, provider)
    assert job.status == JobStatus.FAILED
    assert "We kept trying for 10 minutes" in job.error_message


def test_the_budget_is_per_deployment(queued, offline_deployment, settings):
    settings.IMPRIMATUR_BREAKER_THRESHOLD = 100
    Deployment.objects.filter(pk=offline_deployment.pk).update(retry_budget_seconds=30)
    GenerationJob.objects.filter(pk=queued.pk).update(started_at=timezone.now() - timedelta(seconds=31))
    job = _run(queued.pk, Failing(server_error()))
    assert job.status == JobStatus.FAILED


def test_consecutive_failures_open_the_breaker_and_jobs_wait_instead_of_failing(
    queued,
    offline_deployment,
    settings,
    marketer,
    draft,  # noqa: F811
):
    settings.IMPRIMATUR_BREAKER_THRESHOLD = 3
    provider = Failing(server_error())
    for _ in range(3):
        with pytest.raises(services.JobRetry):
            _run(queued.pk, provider)
    offline_deployment.refresh_from_db()
    assert offline_deployment.consecutive_failures == 3
    assert offline_deployment.circuit_open_until > timezone.now()
    # While it is open, no call is made: the job waits, with the reason and until when on its page.
    with pytest.raises(services.JobRetry) as retry:
        _run(queued.pk, provider)
    assert provider.calls == 3
    assert retry.value.countdown >= 50
    job = GenerationJob.objects.get(pk=queued.pk)
    assert job.status == JobStatus.RETRYING
    until = timezone.localtime(offline_deployment.circuit_open_until).strftime("%H:%M")
    assert f"{offline_deployment.name} is failing; new calls are paused until {until}" in job.error_message


def test_half_open_lets_one_probe_through_and_a_success_closes_the_breaker(queued, offline_deployment, settings):
    settings.IMPRIMATUR_BREAKER_THRESHOLD = 2
    past = timezone.now() - timedelta(seconds=1)
    Deployment.objects.filter(pk=offline_deployment.pk).update(consecutive_failures=2, circuit_open_until=past)
    assert breaker.breaker_admit(offline_deployment) is None  # the probe
    assert breaker.breaker_admit(offline_deployment) is not None  # everyone else waits for it
    Deployment.objects.filter(pk=offline_deployment.pk).update(consecutive_failures=2, circuit_open_until=past)
    with mock.patch.object(execution, "_screens_enqueue"):
        job = services.job_execute(job_id=queued.pk)
    assert job.status == JobStatus.SUCCEEDED
    offline_deployment.refresh_from_db()
    assert (offline_deployment.consecutive_failures, offline_deployment.circuit_open_until) == (0, None)


def test_a_failed_probe_opens_it_again(offline_deployment, settings):
    settings.IMPRIMATUR_BREAKER_THRESHOLD = 2
    Deployment.objects.filter(pk=offline_deployment.pk).update(consecutive_failures=2, circuit_open_until=None)
    assert breaker.breaker_admit(offline_deployment) is None
    assert breaker.breaker_record_failure(offline_deployment) > timezone.now()


def test_rate_limits_and_refusals_do_not_trip_the_breaker(queued, offline_deployment, settings):
    settings.IMPRIMATUR_BREAKER_THRESHOLD = 1
    busy = ProviderError("busy", kind=ErrorKind.RETRYABLE, status_code=429, retry_after=2, code="rate_limited")
    with pytest.raises(services.JobRetry):
        _run(queued.pk, Failing(busy))
    offline_deployment.refresh_from_db()
    assert offline_deployment.consecutive_failures == 0
    assert offline_deployment.circuit_open_until is None


def test_generate_warns_before_launch_while_the_breaker_is_open(
    client_for,  # noqa: F811
    marketer,
    draft,  # noqa: F811
    workspace,
    ad_format,
    offline_deployment,
):
    until = timezone.now() + timedelta(minutes=2)
    Deployment.objects.filter(pk=offline_deployment.pk).update(consecutive_failures=5, circuit_open_until=until)
    response = client_for(marketer).get(
        reverse("studio:generate_preview", args=[workspace.slug, draft.pk]),
        {
            "deployment": offline_deployment.pk,
            "target_format": ad_format.pk,
            "n": 1,
            "quality": "low",
            "output_format": "png",
            "route": "explicit",
        },
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert f"{offline_deployment.name} is failing; new calls are paused until " in body
    assert timezone.localtime(until).strftime("%H:%M") in body


def test_a_timeout_says_it_may_have_been_billed_and_backs_off_at_least_a_cool_down(queued, settings):
    settings.IMPRIMATUR_BREAKER_THRESHOLD = 100
    settings.IMPRIMATUR_BREAKER_COOL_DOWN_SECONDS = 90
    with pytest.raises(services.JobRetry) as retry:
        _run(queued.pk, Failing(timed_out()))
    assert retry.value.countdown >= 90  # the default 120 s timeout is a long-running model's: no quick retry
    job = GenerationJob.objects.get(pk=queued.pk)
    assert "the provider may have billed the timed-out attempt" in job.error_message.lower()
    # The note stays with the job when a later attempt succeeds.
    with mock.patch.object(execution, "_screens_enqueue"):
        job = services.job_execute(job_id=queued.pk)
    assert job.status == JobStatus.SUCCEEDED
    assert "may have billed the timed-out attempt" in job.error_message


def test_a_short_timeout_deployment_retries_on_the_normal_backoff(queued, offline_deployment, settings):
    settings.IMPRIMATUR_BREAKER_THRESHOLD = 100
    settings.IMPRIMATUR_BREAKER_COOL_DOWN_SECONDS = 90
    Deployment.objects.filter(pk=offline_deployment.pk).update(request_timeout_seconds=20)
    with pytest.raises(services.JobRetry) as retry:
        _run(queued.pk, Failing(timed_out()))
    assert retry.value.countdown < 90


def test_the_provider_client_uses_the_deployments_timeout(offline_deployment):
    offline_deployment.request_timeout_seconds = 300
    provider = OpenAIProvider(offline_deployment, http_client=httpx2.Client())
    assert provider._sdk_kwargs()["timeout"].read == 300
    assert provider._context("1024x1024").timeout == 300
    assert provider_timeout(offline_deployment).connect == 10


def test_every_call_holds_a_limiter_slot_and_a_429_slows_every_worker_down(queued, offline_deployment):
    held = []
    slowed = []

    @contextmanager
    def slot(deployment):
        held.append(("enter", deployment.pk))
        try:
            yield
        finally:
            held.append(("exit", deployment.pk))

    busy = ProviderError("busy", kind=ErrorKind.RETRYABLE, status_code=429, retry_after=7.5, code="rate_limited")
    with (
        mock.patch.object(execution, "deployment_slot", slot),
        mock.patch.object(execution, "deployment_slow_down", lambda d, s: slowed.append((d.pk, s))),
        pytest.raises(services.JobRetry),
    ):
        _run(queued.pk, Failing(busy))
    assert held == [("enter", offline_deployment.pk), ("exit", offline_deployment.pk)]
    assert slowed == [(offline_deployment.pk, 7.5)]


def test_a_deployment_read_with_its_job_and_closed_is_admitted_without_another_read(
    offline_deployment, django_assert_num_queries
):
    with django_assert_num_queries(0):
        assert breaker.breaker_admit(offline_deployment, just_read=True) is None
    for _ in range(breaker.threshold()):
        breaker.breaker_record_failure(offline_deployment)
    offline_deployment.refresh_from_db()  # as the job's read would see it now
    assert breaker.breaker_admit(offline_deployment, just_read=True) is not None
