"""Issue 10 on real PostgreSQL: a marketer creating drafts while a batch of jobs settles on the same
campaign, for a bounded time, in threads. Before the one lock order (studio.generation.locks) this
deadlocked (the draft held the audit chain head, its deferred FK check waited for the campaign; the
settling job held the campaign and waited for the chain head). Expect zero deadlocks, every job terminal.

The services' in-process deadlock retry is switched off here, so a deadlock cannot hide behind it."""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from unittest import mock

import pytest
from django.db import DatabaseError, connection

from studio.generation import services
from studio.generation.models import Campaign, GenerationJob
from studio.generation.retrying import is_transient_db_error
from studio.generation.services import execution

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SECONDS = 8.0
JOBS = 12


def test_drafts_and_settling_jobs_never_deadlock(marketer, campaign, offline_deployment):
    assert connection.vendor == "postgresql", "this test needs real row locks (run it against PostgreSQL)"
    Campaign.objects.filter(pk=campaign.pk).update(budget=Decimal(1000))
    campaign.refresh_from_db()
    draft = services.draft_create(actor=marketer, campaign=campaign, title="Batch", text="A lemon")
    version = draft.versions.get()
    request = services.LaunchRequest(deployment=offline_deployment, target_width=512, target_height=512, n=1)
    jobs = [
        services.job_launch(actor=marketer, version=version, request=request, enqueue=False).pk for _ in range(JOBS)
    ]
    deadlocks: list[BaseException] = []
    other: list[BaseException] = []
    stop = time.monotonic() + SECONDS

    def guarded(fn):
        try:
            fn()
        except DatabaseError as exc:
            (deadlocks if is_transient_db_error(exc) else other).append(exc)
        except Exception as exc:  # noqa: BLE001 - reported below
            other.append(exc)

    def make_drafts():
        n = 0
        while time.monotonic() < stop:
            n += 1
            guarded(lambda n=n: services.draft_create(actor=marketer, campaign=campaign, title=f"D{n}", text="x"))
        connection.close()

    def settle(my_jobs):
        for pk in my_jobs:
            guarded(lambda pk=pk: services.job_execute(job_id=pk))
        while time.monotonic() < stop:  # keep launching and settling until the time is up
            guarded(
                lambda: services.job_execute(
                    job_id=services.job_launch(actor=marketer, version=version, request=request, enqueue=False).pk
                )
            )
        connection.close()

    with (
        mock.patch.object(execution, "transient_db_retry", lambda fn, **kw: fn()),
        mock.patch.object(execution, "_screens_enqueue", return_value=None),
    ):
        threads = [threading.Thread(target=make_drafts) for _ in range(2)]
        threads += [threading.Thread(target=settle, args=(jobs[i::2],)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=SECONDS + 60)
    assert deadlocks == []
    assert other == []
    assert not GenerationJob.objects.exclude(status__in=["succeeded", "failed", "blocked"]).exists()
    campaign.refresh_from_db()
    assert campaign.reserved_cost == 0
