"""Thin Celery wrappers for production runs: one task per cell on the "batch" queue, and the sweeper.

``acks_late`` + ``reject_on_worker_lost``: a worker killed mid-cell gets the message redelivered; the
services re-check state under row locks, so the cell's job calls the service once per live lease and the
cell's outcome and cost are recorded once.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from studio.generation.errors import JobRetry
from studio.generation.retrying import retry_transient_db_errors
from studio.runs import services
from studio.runs.launching import run_prepare_chunk
from studio.runs.services import BATCH_QUEUE


def _max_retries() -> int:
    return settings.IMPRIMATUR_PROVIDER_MAX_RETRIES + 12


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
    soft_time_limit=600,
    name="runs.cell_run",
    queue=BATCH_QUEUE,
)
@retry_transient_db_errors(max_retries=10)
def cell_run(self, cell_id: int) -> str:
    try:
        cell = services.cell_execute(cell_id=cell_id)
    except JobRetry as retry:
        if self.request.retries >= _max_retries():
            return services.cell_give_up(cell_id=cell_id, reason=retry.reason).status
        raise self.retry(countdown=retry.countdown) from retry
    return cell.status


@shared_task(name="runs.runs_sweep", ignore_result=True, soft_time_limit=120)
def runs_sweep() -> int:
    """Every minute (Celery beat): record, re-publish or finish what a stopped worker left behind."""
    from studio.runs.sweeper import runs_sweep as sweep

    return sweep().repairs


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
    soft_time_limit=300,
    name="runs.run_prepare",
)
@retry_transient_db_errors(max_retries=10)
def run_prepare(self, run_id: int, queue: str | None = None) -> bool:
    """One chunk of a launched run's preparation (``studio.runs.launching``): its cells' jobs, their tasks,
    and the next chunk's task, all through the outbox. On the default queue, so preparing never waits
    behind the run's own cells on "batch"."""
    return run_prepare_chunk(run_id=run_id, queue=queue)
