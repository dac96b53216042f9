"""Budgets: each campaign's burn-down and when it runs out at the current rate."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from approvals.costs.models import CostRollup
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


def _rates(campaign_ids: list[int], today: dt.date) -> dict[int, Decimal]:
    since = today - dt.timedelta(days=RATE_DAYS - 1)
    rows = (
        CostRollup.objects.filter(campaign_id__in=campaign_ids, day__gte=since, day__lte=today)
        .values("campaign_id")
        .annotate(spend=Sum("spend"))
    )
    return {r["campaign_id"]: quantized(r["spend"]) / RATE_DAYS for r in rows}


def campaign_budgets(scope: CostScope) -> tuple[list[CampaignBudget], int]:
    """The workspace's campaigns (most spend in the range first, at most ``MAX_CAMPAIGNS``) and how many
    there are in all. Three queries."""
    today = timezone.localdate()
    campaigns = list(Campaign.objects.filter(workspace=scope.workspace).order_by("name"))
    in_range = {
        r["campaign_id"]: r
        for r in scope.campaign_rollups()
        .values("campaign_id")
        .annotate(spend=Sum("spend"), savings=Sum("cached_savings"), cached=Sum("cached_jobs"))
    }
    rates = _rates([c.pk for c in campaigns], today)
    rows = []
    for c in campaigns:
        r = in_range.get(c.pk, {})
        rate = rates.get(c.pk, ZERO)
        rows.append(
            CampaignBudget(
                campaign=c,
                spend_in_range=quantized(r.get("spend")),
                cached_savings=quantized(r.get("savings")),
                cached_jobs=r.get("cached") or 0,
                daily_rate=rate,
                runs_out=forecast_runout(remaining=c.remaining, daily_rate=rate, today=today),
            )
        )
    rows.sort(key=lambda b: (-b.spend_in_range, b.campaign.name))
    return rows[:MAX_CAMPAIGNS], len(rows)


def campaign_burn_down(campaign: Campaign) -> CampaignBudget:
    """One campaign's remaining budget per day since its first spend, and the forecast. Two queries."""
    today = timezone.localdate()
    daily = list(
        CostRollup.objects.filter(campaign=campaign)
        .values("day")
        .annotate(spend=Sum("spend"), savings=Sum("cached_savings"), cached=Sum("cached_jobs"))
        .order_by("day")
    )
    rate = _rates([campaign.pk], today).get(campaign.pk, ZERO)
    burn, spent = [], ZERO
    for row in daily:
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
