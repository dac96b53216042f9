"""Recording review decisions for the reviewer workload: one ``DecisionCost`` per decision and its time
to decision in the histograms, written after the decision commits (``receivers``) or by the catch-up.

The catch-up looks at the newest decisions only (by pk, with an overlap: a decision's pk is taken before
it commits, so one can commit a little after a higher one): ``Decision`` has no index on its creation
time, and the hook records nearly all of them. ``decisions_backfill`` records every decision that has no
row yet, for the rebuild.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from approvals.costs.models import DecisionCost
from approvals.costs.rollups import RollupDelta
from approvals.costs.services.rollups import rollups_apply
from approvals.reviews.models import Decision

OVERLAP_DECISIONS = 1000
BACKFILL_BATCH = 5000
_FIELDS = ("pk", "reviewer_id", "created_at", "stage__review__workspace_id", "stage__review__submitted_at")
_CAMPAIGN = "stage__review__variant__draft__campaign_id"


def _fact(pk, reviewer_id, decided_at, workspace_id, submitted_at, campaign_id) -> DecisionCost:
    return DecisionCost(
        decision_id=pk,
        workspace_id=workspace_id,
        campaign_id=campaign_id,
        reviewer_id=reviewer_id,
        decided_at=decided_at,
        day=timezone.localdate(decided_at),
        seconds_to_decision=max(0, int((decided_at - submitted_at).total_seconds())),
    )


def decision_cost_record(decision_id: int) -> DecisionCost | None:
    """Record one decision once. ``None`` if it is gone or already recorded."""
    row = Decision.objects.filter(pk=decision_id).values_list(*_FIELDS, _CAMPAIGN).first()
    if row is None or row[-1] is None:
        return None
    fact = _fact(*row)
    delta = RollupDelta()
    delta.add_decision(fact)
    try:
        with transaction.atomic():
            fact.save(force_insert=True)
            rollups_apply(delta)
    except IntegrityError:
        return None  # recorded by another delivery
    return fact


def decisions_catch_up() -> int:
    """Record the newest decisions the hook missed. Returns how many."""
    newest = DecisionCost.objects.aggregate(pk=Max("decision_id"))["pk"] or 0
    missing = (
        Decision.objects.filter(pk__gt=newest - OVERLAP_DECISIONS, cost_fact__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return sum(1 for pk in list(missing) if decision_cost_record(pk) is not None)


def decisions_backfill() -> int:
    """Record every decision without a row (no rollup change: the rebuild that calls this recounts)."""
    written, after = 0, 0
    while True:
        rows = list(
            Decision.objects.filter(pk__gt=after, cost_fact__isnull=True)
            .exclude(**{f"{_CAMPAIGN}__isnull": True})
            .order_by("pk")
            .values_list(*_FIELDS, _CAMPAIGN)[:BACKFILL_BATCH]
        )
        if not rows:
            return written
        DecisionCost.objects.bulk_create([_fact(*row) for row in rows], ignore_conflicts=True)
        written += len(rows)
        after = rows[-1][0]
