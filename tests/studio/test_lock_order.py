"""Issue 10: every write transaction follows one lock order (studio.generation.locks): the campaign first,
then jobs, then variants, and the audit chain head last. A transaction that took the chain head before
its campaign deadlocked against a worker settling a job (which holds the campaign, then audits).

SQLite has no row locks, so these tests record the order in which locks are requested."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db.models.query import QuerySet

from studio.generation import services
from studio.generation.events import admin as admin_events
from studio.generation.events import lifecycle as lifecycle_events
from studio.generation.events import repairs as repair_events
from studio.generation.locks import campaign_lock
from studio.generation.models import Campaign
from tests.studio.test_services import launch


@pytest.fixture
def lock_log():
    """Every ``select_for_update`` (by model) and every audit append, in order."""
    log: list[str] = []
    real_sfu = QuerySet.select_for_update
    real_record = lifecycle_events.audit_record

    def sfu(self, *args, **kwargs):
        log.append(self.model.__name__)
        return real_sfu(self, *args, **kwargs)

    def record(*args, **kwargs):
        log.append("audit")
        return real_record(*args, **kwargs)

    with (
        mock.patch.object(QuerySet, "select_for_update", sfu),
        mock.patch.object(lifecycle_events, "audit_record", record),
        mock.patch.object(admin_events, "audit_record", record),
        mock.patch.object(repair_events, "audit_record", record),
    ):
        yield log


def _before(log: list[str], first: str, then: str) -> bool:
    return first in log and then in log and log.index(first) < log.index(then)


def test_draft_create_locks_the_campaign_before_the_audit_chain(lock_log, marketer, campaign):
    services.draft_create(actor=marketer, campaign=campaign, title="Hero", text="A lemon")
    assert _before(lock_log, "Campaign", "audit"), lock_log


def test_draft_version_add_locks_the_campaign_first(marketer, campaign, lock_log):
    draft = services.draft_create(actor=marketer, campaign=campaign, title="Hero", text="A lemon")
    lock_log.clear()
    services.draft_version_add(actor=marketer, draft=draft, text="A lime")
    assert lock_log[0] == "Campaign", lock_log
    assert lock_log[-1] == "audit", lock_log


def test_launch_locks_the_campaign_before_the_audit_chain(
    marketer, campaign, offline_deployment, lock_log, django_capture_on_commit_callbacks
):
    draft = services.draft_create(actor=marketer, campaign=campaign, title="Hero", text="A lemon")
    lock_log.clear()
    with django_capture_on_commit_callbacks(execute=False):
        launch(marketer, draft, offline_deployment, n=1)
    assert _before(lock_log, "Campaign", "audit"), lock_log


def test_a_success_is_recorded_without_the_campaign_then_settled_campaign_first(
    marketer, campaign, offline_deployment, lock_log, django_capture_on_commit_callbacks
):
    draft = services.draft_create(actor=marketer, campaign=campaign, title="Hero", text="A lemon")
    with django_capture_on_commit_callbacks(execute=False):
        job = launch(marketer, draft, offline_deployment, n=1)
    lock_log.clear()
    with django_capture_on_commit_callbacks(execute=False):
        services.job_execute(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded"
    assert not job.settle_pending
    assert job.reserved_cost == 0
    # The record (up to its audit write) takes the job, then the chain head, and never the campaign, which
    # every cell of a run would otherwise wait on; the settle after it takes the campaign, then the job.
    record, settle = lock_log[: lock_log.index("Campaign")], lock_log[lock_log.index("Campaign") :]
    assert "audit" in record, lock_log
    assert record.index("GenerationJob") < record.index("audit"), lock_log
    assert settle[:2] == ["Campaign", "GenerationJob"], lock_log
    assert "audit" not in settle, lock_log


def test_campaign_locks_do_not_block_foreign_key_checks(campaign):
    """FOR NO KEY UPDATE does not conflict with the FOR KEY SHARE of another transaction's FK check."""
    with mock.patch.object(QuerySet, "select_for_update", autospec=True, return_value=Campaign.objects.all()) as sfu:
        campaign_lock(campaign.pk)
    assert sfu.call_args.kwargs.get("no_key") is True
