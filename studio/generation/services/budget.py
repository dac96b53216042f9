"""A campaign's budget: reserve a job's estimate at launch, settle it to the real cost when the job ends.

Both lock the campaign row, so concurrent launches and finishing jobs can never overspend or count twice.
The lock is step 1 of the one lock order (``studio.generation.locks``): callers that also lock a job take
the campaign first (``job_lock_with_campaign``), and the audit event comes last.
"""

from __future__ import annotations

from decimal import Decimal

from studio.generation.errors import BudgetExceeded
from studio.generation.locks import campaign_lock
from studio.generation.models import Campaign, GenerationJob
from studio.generation.signals import job_settled


def _money(value: Decimal) -> str:
    return f"${value.quantize(Decimal('0.01')) if value >= 1 else value.quantize(Decimal('0.0001'))}"


def budget_reserve(*, campaign: Campaign, amount: Decimal) -> Campaign:
    """Reserve ``amount`` under a row lock so concurrent launches can never overspend."""
    locked = campaign_lock(campaign.pk)
    remaining = locked.budget - locked.reserved_cost - locked.spent_cost
    if amount > remaining:
        raise BudgetExceeded(
            f"This would cost about {_money(amount)}, but {locked.name} has only {_money(max(remaining, Decimal(0)))} "
            f"left of its {_money(locked.budget)} budget ({_money(locked.spent_cost)} spent, "
            f"{_money(locked.reserved_cost)} reserved by jobs in progress). Lower the number of variants or the "
            f"quality, or ask an admin to raise the budget."
        )
    locked.reserved_cost += amount
    locked.save(update_fields=["reserved_cost"])
    return locked


def budget_settle(*, job: GenerationJob, actual: Decimal, campaign: Campaign | None = None) -> None:
    """Release the job's reservation and count what it really cost (the caller saves the job).

    ``campaign``: the job's campaign as the caller locked it in this transaction (its numbers are current
    while the lock is held), so it is not locked and read a second time."""
    if campaign is None or campaign.pk != job.campaign_id:
        campaign = campaign_lock(job.campaign_id)  # already held when the caller used job_lock_with_campaign
    campaign.reserved_cost = max(Decimal(0), campaign.reserved_cost - job.reserved_cost)
    campaign.spent_cost += actual
    campaign.save(update_fields=["reserved_cost", "spent_cost"])
    job.reserved_cost = Decimal(0)
    # The cost app records it after commit; ``campaign`` is the row as this settle saved it.
    job_settled.send(sender=GenerationJob, job=job, actual=actual, campaign=campaign)
