"""Budgets: each campaign's burn-down and when it runs out at the current rate."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from approvals.costs.models import WORKSPACE_WIDE, CostBreakdownDay, Period
from approvals.costs.selectors.report import quantized
from approvals.costs.selectors.scope import CostScope
from studio.generation.models import Campaign

RATE_DAYS = 7
MAX_CAMPAIGNS = 50
ZERO = Decimal(0)


def forecast_runout(*, remaining: Decimal, daily_rate: Decimal, today: dt.date) -> dt.date | None:
    """The day the budget runs out at ``daily_rate`` (None when nothing is being spent)."""
    if remaining <= 0:
        return today
    if daily_rate <= 0:
        return None
    days = int((remaining / daily_rate).to_integral_value(rounding="ROUND_CEILING"))
    return today + dt.timedelta(days=min(days, 3650))


@dataclass
class CampaignBudget:
    campaign: Campaign
    spend_in_range: Decimal
    cached_savings: Decimal
    cached_jobs: int
    daily_rate: Decimal
    runs_out: dt.date | None
    burn: list[dict] = field(default_factory=list)

    @property
    def used_percent(self) -> int:
        c = self.campaign
        return int((c.spent_cost + c.reserved_cost) * 100 / c.budget) if c.budget else 100

    @property
    def remaining(self) -> Decimal:
        return max(self.campaign.remaining, ZERO)


def _rates(workspace_id: int, campaign_ref: int, today: dt.date, *, dimension: str) -> dict[int, Decimal]:
    """Spend per day over the last :data:`RATE_DAYS` days, per campaign (``dimension="campaign"`` of the
    workspace's rows) or of one campaign (its ``total`` rows, keyed by its pk)."""
    since = today - dt.timedelta(days=RATE_DAYS - 1)
    rows = (
        CostBreakdownDay.objects.filter(
            workspace_id=workspace_id,
            campaign_ref=campaign_ref,
            period=Period.DAY,
            dimension=dimension,
            day__gte=since,
            day__lte=today,
        )
        .values("value")
        .annotate(spend=Sum("spend"))
        .order_by()
    )
    key = (lambda value: int(value)) if dimension == "campaign" else (lambda value: campaign_ref)
    return {key(r["value"]): quantized(r["spend"]) / RATE_DAYS for r in rows}


def campaign_budgets(scope: CostScope, in_range: dict | None = None) -> tuple[list[CampaignBudget], int]:
    """The workspace's campaigns (most spend in the range first, at most ``MAX_CAMPAIGNS``) and how many
    there are in all. ``in_range`` is the report's per-campaign lines (``CostReport.by_campaign``), read
    again here when not given. Two or three queries."""
    today = timezone.localdate()
    campaigns = list(Campaign.objects.filter(workspace=scope.workspace).order_by("name"))
    if in_range is None:
        in_range = {}
        for row in (
            scope.breakdown()
            .filter(dimension="campaign")
            .values("value")
            .annotate(spend=Sum("spend"), cached_savings=Sum("cached_savings"), cached_jobs=Sum("cached_jobs"))
            .order_by()
        ):
            line = in_range[int(row["value"])] = _Sums()
            line.spend, line.cached_savings = quantized(row["spend"]), quantized(row["cached_savings"])
            line.cached_jobs = row["cached_jobs"] or 0
    rates = _rates(scope.workspace.pk, WORKSPACE_WIDE, today, dimension="campaign")
    rows = []
    for c in campaigns:
        line = in_range.get(c.pk) or _Sums()
        rate = rates.get(c.pk, ZERO)
        rows.append(
            CampaignBudget(
                campaign=c,
                spend_in_range=line.spend,
                cached_savings=line.cached_savings,
                cached_jobs=line.cached_jobs,
                daily_rate=rate,
                runs_out=forecast_runout(remaining=c.remaining, daily_rate=rate, today=today),
            )
        )
    rows.sort(key=lambda b: (-b.spend_in_range, b.campaign.name))
    return rows[:MAX_CAMPAIGNS], len(rows)


@dataclass
class _Sums:
    spend: Decimal = ZERO
    cached_savings: Decimal = ZERO
    cached_jobs: int = 0


def campaign_burn_down(campaign: Campaign) -> CampaignBudget:
    """One campaign's remaining budget per day since its first spend, and the forecast. Two queries, over
    one row per day of the campaign's life."""
    today = timezone.localdate()
    daily = list(
        CostBreakdownDay.objects.filter(
            workspace_id=campaign.workspace_id, campaign_ref=campaign.pk, period=Period.DAY, dimension="total"
        )
        .values("day")
        .annotate(jobs=Sum("jobs"), spend=Sum("spend"), savings=Sum("cached_savings"), cached=Sum("cached_jobs"))
        .order_by("day")
    )
    rate = _rates(campaign.workspace_id, campaign.pk, today, dimension="total").get(campaign.pk, ZERO)
    burn, spent = [], ZERO
    for row in daily:
        if not row["jobs"]:
            continue  # a day with approvals only: nothing settled
        spent += quantized(row["spend"])
        burn.append({"day": row["day"], "spend": quantized(row["spend"]), "remaining": campaign.budget - spent})
    return CampaignBudget(
        campaign=campaign,
        spend_in_range=spent,
        cached_savings=sum((quantized(r["savings"]) for r in daily), ZERO),
        cached_jobs=sum(r["cached"] or 0 for r in daily),
        daily_rate=rate,
        runs_out=forecast_runout(remaining=campaign.remaining, daily_rate=rate, today=today),
        burn=burn,
    )
