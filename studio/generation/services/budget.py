"""A campaign's budget: reserve a job's estimate at launch, settle it to the real cost when the job ends.

Both lock the campaign row, so concurrent launches and finishing jobs can never overspend or count twice.
The lock is step 1 of the one lock order (``studio.generation.locks``): callers that also lock a job take
the campaign first (``job_lock_with_campaign``), and the audit event comes last.

A success is settled in two steps. The job's record transaction (its images, variants, cell and events)
does not lock the campaign: it stores the actual cost on the job, keeps the job's reservation and marks
it ``settle_pending``. Right after its commit ``budget_settle_recorded`` counts it on the campaign in a
transaction of three statements. Every cell of a 1,000-cell run settles on the same campaign row, and
recording under that lock made the cells wait for each other's whole record (about 20 statements, each
waiting for its worker's GIL), so at most ten calls were in flight of the sixteen the deployment allowed.
In between, the campaign still counts the job's reservation instead of its cost (the estimate, which the
launch checked against the budget), and the sweeper settles a job whose worker stopped there.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import connection, transaction

from studio.core.money import money_text
from studio.generation.errors import BudgetExceeded
from studio.generation.locks import campaign_lock
from studio.generation.models import Campaign, GenerationJob
from studio.generation.signals import job_settled


def budget_reserve(*, campaign: Campaign, amount: Decimal) -> Campaign:
    """Reserve ``amount`` under a row lock so concurrent launches can never overspend."""
    locked = campaign_lock(campaign.pk)
    remaining = locked.budget - locked.reserved_cost - locked.spent_cost
    if amount > remaining:
        raise BudgetExceeded(
            f"This would cost about {money_text(amount)}, but {locked.name} has only "
            f"{money_text(max(remaining, Decimal(0)))} "
            f"left of its {money_text(locked.budget)} budget ({money_text(locked.spent_cost)} spent, "
            f"{money_text(locked.reserved_cost)} reserved by jobs in progress). Lower the number of variants or the "
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


# PostgreSQL: the job's row (locked, as the order says, after the campaign's) and the campaign's numbers in
# one statement, so the campaign's lock is held over three round trips (lock, this, COMMIT), not five.
_SETTLE_RECORDED_SQL = """
WITH old AS (
    SELECT id, reserved_cost, COALESCE(actual_cost, 0) AS actual FROM studio_generationjob
    WHERE id = %s AND settle_pending FOR NO KEY UPDATE
), settled AS (
    UPDATE studio_generationjob SET reserved_cost = 0, settle_pending = false
    FROM old WHERE studio_generationjob.id = old.id
    RETURNING old.reserved_cost AS reserved, old.actual AS actual
)
UPDATE studio_campaign SET reserved_cost = GREATEST(0, studio_campaign.reserved_cost - settled.reserved),
    spent_cost = studio_campaign.spent_cost + settled.actual
FROM settled WHERE studio_campaign.id = %s
RETURNING settled.actual, studio_campaign.reserved_cost, studio_campaign.spent_cost
"""


def budget_settle_recorded(job: GenerationJob) -> bool:
    """Count a recorded success on its campaign (step two above), in a transaction of its own: the campaign,
    then the job (the lock order). ``job`` is the instance the record saved; its budget fields are updated
    in place. False when it was settled already (by the sweeper, or an earlier delivery)."""
    with transaction.atomic():
        campaign = campaign_lock(job.campaign_id)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(_SETTLE_RECORDED_SQL, [job.pk, campaign.pk])
                row = cursor.fetchone()
            job.reserved_cost, job.settle_pending = Decimal(0), False
            if row is None:
                return False
            actual, campaign.reserved_cost, campaign.spent_cost = row
            job_settled.send(sender=GenerationJob, job=job, actual=actual, campaign=campaign)
            return True
        reserved, pending = (
            GenerationJob.objects.select_for_update(of=("self",), no_key=True)
            .values_list("reserved_cost", "settle_pending")
            .get(pk=job.pk)
        )
        job.reserved_cost, job.settle_pending = reserved, False
        if not pending:
            return False
        budget_settle(job=job, actual=job.actual_cost or Decimal(0), campaign=campaign)
        GenerationJob.objects.filter(pk=job.pk).update(reserved_cost=Decimal(0), settle_pending=False)
    return True
