"""Issue 10 on real PostgreSQL: a marketer creating drafts while a batch of jobs settles on the same
campaign, for a bounded time, in threads (and, in the second test, reviewers deciding and marketers
publishing on that campaign at the same time, with the outbox and the breaker in the path). Before the
one lock order (studio.generation.locks) this deadlocked (the draft held the audit chain head, its
deferred FK check waited for the campaign; the settling job held the campaign and waited for the chain
head). Expect zero deadlocks, every job terminal.

The services' in-process deadlock retry is switched off here, so a deadlock cannot hide behind it."""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from unittest import mock

import pytest
from django.db import DatabaseError, connection

from approvals.publishing import services as publishing
from approvals.reviews import services as reviews
from approvals.reviews.models import StageKind
from studio.core.outbox.models import OutboxMessage
from studio.generation import services
from studio.generation.models import Campaign, GenerationJob, Variant, VariantStatus
from studio.generation.retrying import is_transient_db_error
from studio.generation.services import execution
from tests import factories as f
from tests.conftest import wait_for

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
    # Each success was recorded, then counted on the campaign in its own transaction: all of them, once.
    assert not GenerationJob.objects.filter(settle_pending=True).exists()
    assert campaign.spent_cost == sum(
        GenerationJob.objects.exclude(actual_cost=None).values_list("actual_cost", flat=True), Decimal(0)
    )


def test_drafts_settling_decisions_and_publishes_together_never_deadlock(
    marketer, reviewer, campaign, offline_deployment
):
    """Four kinds of writer on one campaign at once: drafts, jobs launched and settled (their runs and
    image checks written to the outbox in the same transactions), reviews decided, variants published.
    Every transaction takes the one lock order, so none may deadlock; every job ends."""
    from tests.approvals.factories_reviews import variant_for

    assert connection.vendor == "postgresql", "this test needs real row locks (run it against PostgreSQL)"
    Campaign.objects.filter(pk=campaign.pk).update(budget=Decimal(1000))
    campaign.refresh_from_db()
    workspace = campaign.workspace
    draft = services.draft_create(actor=marketer, campaign=campaign, title="Batch", text="A lemon")
    version = draft.versions.get()
    request = services.LaunchRequest(deployment=offline_deployment, target_width=512, target_height=512, n=1)
    to_review = [variant_for(workspace, creator=marketer, campaign=campaign) for _ in range(40)]
    four_by_three = f.CampaignFormatFactory(campaign=campaign, name="Four by three", width=640, height=480)
    approved: list[int] = []
    approved_lock = threading.Lock()
    deadlocks: list[BaseException] = []
    other: list[BaseException] = []
    counts = {"drafts": 0, "jobs": 0, "decisions": 0, "publishes": 0}
    stop = time.monotonic() + SECONDS

    def guarded(kind, fn):
        try:
            fn()
            counts[kind] += 1
        except DatabaseError as exc:
            (deadlocks if is_transient_db_error(exc) else other).append(exc)
        except Exception as exc:  # noqa: BLE001 - reported below
            other.append(exc)

    def make_drafts():
        n = 0
        while time.monotonic() < stop:
            n += 1
            guarded(
                "drafts", lambda n=n: services.draft_create(actor=marketer, campaign=campaign, title=f"D{n}", text="x")
            )
        connection.close()

    def launch_and_settle():
        while time.monotonic() < stop:
            guarded(
                "jobs",
                lambda: services.job_execute(
                    job_id=services.job_launch(actor=marketer, version=version, request=request).pk
                ),
            )
        connection.close()

    def decide():
        for variant in to_review:
            if time.monotonic() >= stop:
                break

            def one(variant=variant):
                review = reviews.variant_submit(actor=marketer, variant=variant)
                reviews.review_decide(
                    actor=reviewer,
                    stage=review.stages.get(kind=StageKind.BRAND),
                    outcome="approve",
                    expected_sha256=variant.sha256,
                )
                with approved_lock:
                    approved.append(variant.pk)

            guarded("decisions", one)
        connection.close()

    def publish():
        done: set[int] = set()
        while time.monotonic() < stop:
            with approved_lock:
                ready = [pk for pk in approved if pk not in done]
            for pk in ready:
                done.add(pk)
                guarded(
                    "publishes",
                    lambda pk=pk: publishing.publication_create(
                        actor=marketer, variant=Variant.objects.get(pk=pk), target_format=four_by_three
                    ),
                )
            time.sleep(0.05)
        connection.close()

    # The outbox publishes after each commit (eager here: the image checks run in the same thread).
    with mock.patch.object(execution, "transient_db_retry", lambda fn, **kw: fn()):
        threads = [threading.Thread(target=make_drafts)]
        threads += [threading.Thread(target=launch_and_settle) for _ in range(2)]
        threads += [threading.Thread(target=decide), threading.Thread(target=publish)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=SECONDS + 60)
    print("concurrency counts:", counts)
    assert deadlocks == []
    assert other == []
    assert min(counts.values()) > 0, counts
    # The session's real worker may also have received a job from the outbox and claimed it first (the
    # test's own call then returns without a second provider call): give that delivery time to finish.
    wait_for(
        lambda: not GenerationJob.objects.exclude(status__in=["succeeded", "failed", "blocked"]).exists(),
        message="every job terminal",
    )
    assert Variant.objects.filter(pk__in=approved, status=VariantStatus.PUBLISHED).count() == counts["publishes"]
    assert not OutboxMessage.objects.filter(published_at__isnull=True).exists()
    campaign.refresh_from_db()
    assert campaign.reserved_cost == 0


def test_a_locked_variant_never_blocks_a_comment_or_edit_that_refers_to_it(marketer, workspace):
    """Row locks are FOR NO KEY UPDATE (studio.generation.locks): a reviewer's transaction holding a variant
    while it waits for the audit chain head must not block another transaction's foreign-key check on that
    variant (FOR KEY SHARE at COMMIT, after it took the chain head), or the two deadlock."""
    from django.db import transaction

    from approvals.reviews.services._common import lock_variant

    assert connection.vendor == "postgresql", "this test needs real row locks (run it against PostgreSQL)"
    variant = f.VariantFactory(workspace=workspace, status=VariantStatus.READY)
    holding, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def hold_the_variant():
        try:
            with transaction.atomic():
                lock_variant(variant.pk)
                holding.set()
                release.wait(10)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_variant)
    holder.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '3s'")
        comment = reviews.comment_add(actor=marketer, variant=variant, text="The logo is too small")
        waited = time.monotonic() - started
    finally:
        release.set()
        holder.join(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = 0")
    assert not failures
    assert comment.pk is not None
    assert waited < 2.0, f"the comment waited {waited:.1f} s for the variant's row lock"
