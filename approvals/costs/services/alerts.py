"""Budget alerts: once spent + reserved crosses the campaign's threshold, its admins hear about it once
(inbox and email), and the audit log says so."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from approvals.costs import events
from approvals.costs.money import money
from studio.core.errors import InvalidInput
from studio.core.models import Role
from studio.core.notifications import notification_send
from studio.core.permissions import ADMINISTRATORS, members_with_role, require_role
from studio.generation.locks import campaign_lock
from studio.generation.models import Campaign

BUDGET_FIELDS = ("budget", "spent_cost", "reserved_cost", "budget_alert_percent", "budget_alert_sent_at")


@dataclass(frozen=True)
class BudgetUse:
    """A campaign's budget numbers as one transaction saved them (the settle's locked row), so the check
    after its commit need not read the row again."""

    budget: Decimal
    spent_cost: Decimal
    reserved_cost: Decimal
    budget_alert_percent: int
    budget_alert_sent_at: dt.datetime | None

    @classmethod
    def of(cls, campaign: Campaign) -> BudgetUse | None:
        """``None`` if ``campaign`` was read without some of the numbers (reading them costs a query each)."""
        if campaign.get_deferred_fields() & set(BUDGET_FIELDS):
            return None
        return cls(**{name: getattr(campaign, name) for name in BUDGET_FIELDS})


def _used_percent(campaign: Campaign | BudgetUse) -> tuple[Decimal, int]:
    used = campaign.spent_cost + campaign.reserved_cost
    if campaign.budget <= 0:
        return used, 100
    return used, int(used * 100 / campaign.budget)


def _needs_alert(campaign: Campaign | BudgetUse) -> bool:
    if campaign.budget_alert_sent_at is not None:
        return False
    used, _ = _used_percent(campaign)
    return used > 0 and used * 100 >= campaign.budget * campaign.budget_alert_percent


def budget_alert_check(campaign_id: int, *, use: BudgetUse | None = None) -> bool:
    """Send the alert if the threshold is crossed and it was not sent yet. True when it was sent now.

    Runs after every settle, so it first looks at the campaign without a lock: below the threshold (or
    already alerted) nothing is locked, and a 1,000-cell run does not queue on the campaign row a second
    time per cell. The numbers are never too old to miss a crossing: each settle checks after its own
    commit, so the settle that crosses the threshold sees its own spend. They are ``use`` when the caller
    has them (the settle hook passes the row the settle saved, so nothing is read), else read unlocked.
    Only past the threshold is the row locked and re-checked."""
    snapshot = use if use is not None else Campaign.objects.only(*BUDGET_FIELDS).filter(pk=campaign_id).first()
    if snapshot is None or not _needs_alert(snapshot):
        return False
    return _budget_alert_send(campaign_id)


@transaction.atomic
def _budget_alert_send(campaign_id: int) -> bool:
    """Locks the campaign row first (the one lock order), so two settling jobs cannot both send it."""
    campaign = campaign_lock(campaign_id)
    if campaign.budget_alert_sent_at is not None:
        return False
    used, percent = _used_percent(campaign)
    if used * 100 < campaign.budget * campaign.budget_alert_percent or used <= 0:
        return False
    campaign.budget_alert_sent_at = timezone.now()
    campaign.save(update_fields=["budget_alert_sent_at"])
    workspace = campaign.workspace
    url = reverse("costs:campaign", args=[workspace.slug, campaign.slug])
    text = (
        f"{campaign.name} has used {money(used)} of its {money(campaign.budget)} budget ({percent}%, alert at "
        f"{campaign.budget_alert_percent}%). {money(max(campaign.remaining, Decimal(0)))} is left."
    )
    recipients = list(members_with_role(workspace, ADMINISTRATORS))
    for user in recipients:
        notification_send(user=user, workspace=workspace, kind="costs.budget_alert", text=text, url=url, email=True)
    events.budget_alert_sent(campaign=campaign, used=used, percent=percent, recipients=[u.pk for u in recipients])
    return True


@transaction.atomic
def budget_alert_threshold_set(*, actor, campaign: Campaign, percent: int) -> Campaign:
    """Set the alert threshold (workspace admins). A threshold above the current use re-arms the alert."""
    require_role(actor, campaign.workspace, Role.ADMIN, action="change budget alerts")
    if not 1 <= int(percent) <= 100:
        raise InvalidInput("Choose a threshold between 1% and 100% of the budget.", field_errors={"percent": "1-100"})
    locked = campaign_lock(campaign.pk)
    previous = locked.budget_alert_percent
    locked.budget_alert_percent = int(percent)
    used, _ = _used_percent(locked)
    rearmed = locked.budget_alert_sent_at is not None and used * 100 < locked.budget * locked.budget_alert_percent
    if rearmed:
        locked.budget_alert_sent_at = None
    locked.save(update_fields=["budget_alert_percent", "budget_alert_sent_at"])
    events.budget_alert_threshold_changed(campaign=locked, actor=actor, previous=previous, rearmed=rearmed)
    transaction.on_commit(lambda: budget_alert_check(locked.pk))
    return locked
