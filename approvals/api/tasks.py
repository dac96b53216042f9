"""Periodic upkeep for the API (Celery beat)."""

from celery import shared_task

from approvals.api.idempotency import idempotency_sweep


@shared_task(name="approvals.api.tasks.idempotency_records_sweep", ignore_result=True)
def idempotency_records_sweep() -> int:
    """Delete expired Idempotency-Key records (hourly): keys are also released on their next use, so this
    only keeps the table from growing with keys nobody reuses."""
    return idempotency_sweep()
