"""The cost app's periodic task: a thin, idempotent wrapper around ``costs_catch_up``."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="costs.tasks.costs_catch_up", ignore_result=True)
def costs_catch_up() -> dict[str, int]:
    from approvals.costs.services import costs_catch_up as catch_up

    counts = catch_up()
    logger.info("costs catch-up: %s", counts)
    return counts
