"""How the cost app hears about changes in the layers below it (connected in ``CostsConfig.ready()``):

- ``job_settled`` (studio): the job's money is final; record it after the commit (the job row is saved
  after the settle, in the same transaction, so only the committed row is complete), and check the budget
  alert against the campaign row the settle saved;
- a new job (``post_save`` of ``GenerationJob``): its reservation may cross the budget alert threshold;
- a variant becoming approved or published (``post_save`` of ``Variant`` with ``status`` in the update,
  which is how ``variant_transition`` saves): its draft's attribution changes;
- a new review decision (``post_save`` of ``Decision``): the reviewer workload's time to decision.

Each hook runs after commit and never fails the change it follows: an error is logged and the periodic
``costs_catch_up`` repairs it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction

from studio.generation.models import VariantStatus

logger = logging.getLogger(__name__)


def _after_commit(action: Callable[[], Any], what: str) -> None:
    def run() -> None:
        try:
            action()
        except Exception:  # noqa: BLE001 - a cost hook must never fail the change; the catch-up repairs it
            logger.exception("cost hook failed (%s); costs_catch_up will repair it", what)

    transaction.on_commit(run)


def on_job_settled(sender: Any, *, job: Any, actual: Any = None, campaign: Any = None, **kwargs: Any) -> None:
    from approvals.costs.services import budget_alert_check, job_cost_record
    from approvals.costs.services.alerts import BudgetUse

    job_id, campaign_id = job.pk, job.campaign_id
    # ``job`` is saved by the caller after this, in the same transaction: after the commit the instance
    # holds the settled row, which ``job_cost_record`` checks before using it instead of reading it again.
    _after_commit(lambda: job_cost_record(job_id, job=job), f"record job {job_id}")
    # ``campaign`` is the row the settle locked and saved: its numbers are what this settle committed.
    use = BudgetUse.of(campaign) if campaign is not None and campaign.pk == campaign_id else None
    _after_commit(lambda: budget_alert_check(campaign_id, use=use), f"budget alert of campaign {campaign_id}")


def on_job_saved(sender: Any, *, instance: Any, created: bool = False, **kwargs: Any) -> None:
    if not created:
        return
    from approvals.costs.services import budget_alert_check

    campaign_id = instance.campaign_id
    _after_commit(lambda: budget_alert_check(campaign_id), f"budget alert of campaign {campaign_id}")


def on_variant_saved(sender: Any, *, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    if not update_fields or "status" not in update_fields:
        return
    if instance.status not in (VariantStatus.APPROVED, VariantStatus.PUBLISHED):
        return
    from approvals.costs.services import draft_attribution_refresh

    draft_id = instance.draft_id
    _after_commit(lambda: draft_attribution_refresh(draft_id), f"attribution of draft {draft_id}")


def on_decision_saved(sender: Any, *, instance: Any, created: bool = False, **kwargs: Any) -> None:
    if not created:
        return
    from approvals.costs.services.decisions import decision_cost_record

    decision_id = instance.pk
    _after_commit(lambda: decision_cost_record(decision_id), f"decision {decision_id}")
