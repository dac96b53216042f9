"""Webhook tasks: thin and idempotent. ``webhook_deliver`` attempts one delivery if it is due (the claim
makes a duplicate message a no-op); ``webhooks_dispatch`` (beat, every 30 s) enqueues every delivery
whose retry is due, so retries live in the database, not in long Celery countdowns."""

from __future__ import annotations

from celery import shared_task

from approvals.webhooks.delivery import deliveries_due, delivery_attempt
from studio.generation.retrying import retry_transient_db_errors


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, soft_time_limit=60, time_limit=90)
@retry_transient_db_errors(max_retries=5)
def webhook_deliver(self, delivery_id: int) -> str | None:
    return delivery_attempt(delivery_id)


@shared_task(ignore_result=True)
def webhooks_dispatch() -> int:
    ids = deliveries_due()
    for pk in ids:
        webhook_deliver.delay(pk)
    return len(ids)
