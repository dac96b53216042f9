"""A real worker killed mid-run: the cells' messages are redelivered to a second worker, and every cell
completes once, with its cost settled once (PostgreSQL, Redis, two `celery worker` subprocesses and a slow
local images server; the redelivery mechanics are described in tests/integration/test_worker_redelivery.py).
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from studio.core.models import AuditEvent
from studio.generation.models import Campaign, GenerationJob, Variant
from studio.runs import services
from studio.runs.models import CellStatus, RunStatus
from tests import factories as f
from tests.conftest import wait_for
from tests.integration.test_worker_redelivery import (
    MOCK_LATENCY,
    SECRET_ENV,
    VISIBILITY_TIMEOUT,
    MockImagesServer,
    _start_worker,
    _stop,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def slow_images():
    import threading

    server = MockImagesServer(MOCK_LATENCY)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


# The session's shared worker also consumes "batch" (without this test's key), so this run's cells go to a
# queue only the two workers started here listen on.
OUR_QUEUE = "runs-kill-test"


def _clear_batch_queue() -> None:
    import redis
    from django.conf import settings

    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(OUR_QUEUE)


def test_a_worker_killed_mid_run_finishes_every_cell_once(
    marketer, campaign, profile, price_table, slow_images, tmp_path, spec, formats, monkeypatch
):
    monkeypatch.setattr(services, "BATCH_QUEUE", OUR_QUEUE)
    deployment = f.DeploymentFactory(
        workspace=campaign.workspace,
        profile=profile,
        name="mock-openai",
        provider="openai",
        endpoint=slow_images.url,
        model="gpt-image-2",
        secret_env=SECRET_ENV,
        max_concurrency=2,
        # The dead worker's limiter slots free when their lease (the call timeout + 30 s) runs out.
        request_timeout_seconds=5,
    )
    _clear_batch_queue()
    first = second = None
    try:
        first = _start_worker("run-first", tmp_path / "first.log", f"{OUR_QUEUE},celery")
        run = services.run_launch(actor=marketer, spec=spec(deployment=deployment, locales=["en"]))
        assert run.cells.count() == 2
        wait_for(lambda: len(slow_images.requests) >= 2, timeout=60, message="both cells to call the service")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        time.sleep(max(0.0, slow_images.requests[-1] + VISIBILITY_TIMEOUT + 0.5 - time.time()))
        second = _start_worker("run-second", tmp_path / "second.log", f"{OUR_QUEUE},celery")

        def finished():
            run.refresh_from_db()
            return run.status == RunStatus.FINISHED

        wait_for(finished, timeout=180, message=f"the run to finish ({(tmp_path / 'second.log').read_text()[-2000:]})")
        wait_for(lambda: not Variant.objects.filter(status="safety_pending").exists(), timeout=60, message="screening")
    finally:
        _stop(first)
        _stop(second)

    cells = list(run.cells.select_related("job"))
    assert {cell.status for cell in cells} == {CellStatus.SUCCEEDED}
    assert GenerationJob.objects.count() == 2
    for cell in cells:
        assert Variant.objects.filter(job=cell.job).count() == 1
        assert cell.actual_cost == cell.job.actual_cost > 0
    campaign = Campaign.objects.get(pk=run.campaign_id)
    assert campaign.spent_cost == sum(cell.actual_cost for cell in cells)
    assert campaign.reserved_cost == 0
    assert AuditEvent.objects.filter(action="runs.cell.finished").count() == 2
    assert AuditEvent.objects.filter(action="runs.run.finished").count() == 1
    assert AuditEvent.objects.filter(action="studio.job.succeeded").count() == 2
