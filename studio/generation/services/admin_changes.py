"""Admin changes to memberships and campaigns (budgets included), recorded in the workspace's audit chain;
and changes to the global tables (price tables, safety rule packs), recorded in the chain of every
workspace they apply to.

The admin saves the row; these services write the one audit event in the admin's transaction, so a change
made in ``/admin/`` reaches the chain like a change made anywhere else. ``changes`` maps field names to
``{"before", "after"}`` plain values (never a secret: neither model holds one)."""

from __future__ import annotations

from django.db import transaction

from studio.core.models import Membership, Workspace
from studio.generation import events
from studio.generation.models import Campaign, PriceTable
from studio.safety.models import SafetyRule


@transaction.atomic
def membership_change_record(*, actor, membership: Membership, action: str, changes: dict, via: str) -> None:
    """Who got which role in which workspace matters to every separation-of-duties check."""
    events.membership_changed(membership=membership, actor=actor, action=action, changes=changes, via=via)


@transaction.atomic
def campaign_change_record(*, actor, campaign: Campaign, action: str, changes: dict, via: str) -> None:
    """A campaign's budget bounds what may be spent; a change to it is a spending decision."""
    events.campaign_changed(campaign=campaign, actor=actor, action=action, changes=changes, via=via)


def _all_workspaces() -> list[Workspace]:
    return list(Workspace.objects.order_by("pk"))


@transaction.atomic
def price_table_change_record(*, actor, price_table: PriceTable, action: str, changes: dict, via: str) -> None:
    """A price table decides what every job of its model costs, in any workspace (now or once a deployment
    uses the model): the change is recorded in every workspace's chain."""
    for workspace in _all_workspaces():
        events.price_table_changed(
            workspace=workspace, price_table=price_table, actor=actor, action=action, changes=changes, via=via
        )


@transaction.atomic
def safety_rule_change_record(*, actor, rule: SafetyRule, action: str, changes: dict, via: str) -> None:
    """A rule-pack entry changes what screening flags or blocks in its sector (every sector when blank):
    recorded in the chain of each workspace it applies to."""
    workspaces = _all_workspaces()
    if rule.sector:
        workspaces = [w for w in workspaces if w.sector == rule.sector]
    for workspace in workspaces:
        events.safety_rule_changed(workspace=workspace, rule=rule, actor=actor, action=action, changes=changes, via=via)
