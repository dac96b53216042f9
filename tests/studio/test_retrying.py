"""Issue 10: a task whose transaction loses a deadlock (40P01) or a serialisation conflict (40001) is
retried with jitter, never acked as done with its job left "running"."""

from __future__ import annotations

from unittest import mock

import pytest
from celery.exceptions import Retry
from django.db import OperationalError

from approvals.publishing import tasks as publishing_tasks
from studio.generation import retrying, services, tasks
from studio.generation.models import GenerationJob, JobStatus
from studio.generation.services import execution
from tests.studio.test_services import launch


class _DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def db_error(sqlstate: str = "40P01") -> OperationalError:
    """What Django raises for psycopg's DeadlockDetected: an OperationalError caused by the driver error."""
    try:
        try:
            raise _DriverError(sqlstate)
        except _DriverError as cause:
            raise OperationalError("deadlock detected") from cause
    except OperationalError as exc:
        return exc


@pytest.mark.parametrize(("state", "transient"), [("40P01", True), ("40001", True), ("23505", False)])
def test_transient_errors_are_recognised_by_sqlstate(state, transient):
    assert retrying.is_transient_db_error(db_error(state)) is transient
    assert retrying.is_transient_db_error(ValueError("x")) is False


def test_transient_db_retry_reruns_the_transaction_then_gives_up():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise db_error()
        return "ok"

    assert retrying.transient_db_retry(flaky, attempts=3, sleep=lambda s: None) == "ok"
    with pytest.raises(OperationalError):
        retrying.transient_db_retry(mock.Mock(side_effect=db_error()), attempts=2, sleep=lambda s: None)
    with pytest.raises(OperationalError):  # not transient: never retried
        retrying.transient_db_retry(mock.Mock(side_effect=db_error("23505")), attempts=5, sleep=lambda s: None)


@pytest.fixture
def queued(marketer, campaign, offline_deployment, django_capture_on_commit_callbacks):
    draft = services.draft_create(actor=marketer, campaign=campaign, title="Hero", text="A lemon")
    with django_capture_on_commit_callbacks(execute=False):
        return launch(marketer, draft, offline_deployment, n=1)


def test_job_run_retries_a_deadlock_instead_of_acking_it(queued):
    with (
        mock.patch.object(tasks.services, "job_execute", side_effect=db_error()),
        mock.patch.object(tasks.job_run, "retry", side_effect=Retry("retry")) as retry,
        pytest.raises(Retry),
    ):
        tasks.job_run(queued.pk)
    assert retry.call_count == 1
    assert 0 < retry.call_args.kwargs["countdown"] <= 60
    job = GenerationJob.objects.get(pk=queued.pk)
    assert job.status not in (JobStatus.FAILED, JobStatus.SUCCEEDED)


def test_job_run_does_not_retry_other_database_errors(queued):
    with (
        mock.patch.object(tasks.services, "job_execute", side_effect=db_error("23505")),
        pytest.raises(OperationalError),
    ):
        tasks.job_run(queued.pk)


def test_the_record_transaction_is_retried_in_process_without_a_second_provider_call(queued, monkeypatch):
    real_record = execution._job_record
    calls = []

    def record(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise db_error()
        return real_record(**kwargs)

    monkeypatch.setattr(execution, "_job_record", record)
    monkeypatch.setattr(retrying.time, "sleep", lambda s: None)
    provider_calls = []
    real_factory = execution.get_provider

    def factory(deployment, **kw):
        provider_calls.append(1)
        return real_factory(deployment, **kw)

    with mock.patch.object(execution, "_screens_enqueue"):
        job = services.job_execute(job_id=queued.pk, provider_factory=factory)
    assert job.status == JobStatus.SUCCEEDED
    assert len(calls) == 2
    assert len(provider_calls) == 1


@pytest.mark.parametrize("task", [tasks.safety_retry_pending_variant, publishing_tasks.publication_render])
def test_other_tasks_retry_deadlocks_too(task):
    target = "variant_rescreen" if task is tasks.safety_retry_pending_variant else "publication_for"
    module = tasks.screening if task is tasks.safety_retry_pending_variant else publishing_tasks.selectors
    with (
        mock.patch.object(module, target, side_effect=db_error("40001")),
        mock.patch.object(task, "retry", side_effect=Retry("retry")) as retry,
        pytest.raises(Retry),
    ):
        task(*([1] if task is tasks.safety_retry_pending_variant else [1, 2, 3]))
    assert retry.call_count == 1


@pytest.fixture
def as_a_worker(monkeypatch):
    """Eager retries re-run in place (as a worker would run the retried message), errors kept as results."""
    monkeypatch.setitem(tasks.job_run.app.conf, "task_eager_propagates", False)


def test_a_job_past_many_provider_retries_still_gets_its_deadlock_retries(queued, as_a_worker):
    """Celery's retry count also counts a job's provider back-off (up to 200): deadlock retries are counted
    on their own, so a job on its 51st delivery that loses a deadlock is retried, not failed and acked."""
    outcomes = [db_error(), db_error("40001"), None]
    calls = []

    def execute(**kwargs):
        calls.append(kwargs)
        outcome = outcomes[len(calls) - 1]
        if outcome is not None:
            raise outcome

    with mock.patch.object(tasks.services, "job_execute", side_effect=execute):
        result = tasks.job_run.apply(args=[queued.pk], retries=50)
    assert result.successful(), result.result
    assert calls == [{"job_id": queued.pk}] * 3  # the retry count never reaches the service


def test_deadlock_retries_stop_after_their_own_limit(queued, as_a_worker):
    execute = mock.Mock(side_effect=db_error())
    with mock.patch.object(tasks.services, "job_execute", execute):
        result = tasks.job_run.apply(args=[queued.pk])
    assert result.failed()
    assert isinstance(result.result, OperationalError)
    assert execute.call_count == 1 + 10  # the first run, then job_run's ten deadlock retries


def test_a_deadlock_retry_carries_its_count_and_keeps_celerys_limit_out_of_the_way(queued):
    with (
        mock.patch.object(tasks.services, "job_execute", side_effect=db_error()),
        mock.patch.object(tasks.job_run, "retry", side_effect=Retry("retry")) as retry,
        pytest.raises(Retry),
    ):
        tasks.job_run.apply(args=[queued.pk], kwargs={retrying.DB_RETRIES_KWARG: 3}, retries=120, throw=True)
    assert retry.call_args.kwargs["kwargs"] == {retrying.DB_RETRIES_KWARG: 4}
    assert retry.call_args.kwargs["max_retries"] == 121
