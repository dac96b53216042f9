"""Admin changes to memberships and campaigns (budgets included), recorded in the workspace's audit chain.

The admin saves the row; these services write the one audit event in the admin's transaction, so a change
made in ``/admin/`` reaches the chain like a change made anywhere else. ``changes`` maps field names to
``{"before", "after"}`` plain values (never a secret: neither model holds one)."""

from __future__ import annotations

from django.db import transaction

from studio.core.models import Membership
from studio.generation import events
from studio.generation.models import Campaign


@transaction.atomic
def membership_change_record(*, actor, membership: Membership, action: str, changes: dict, via: str) -> None:
    """Who got which role in which workspace matters to every separation-of-duties check."""
    events.membership_changed(membership=membership, actor=actor, action=action, changes=changes, via=via)


@transaction.atomic
def campaign_change_record(*, actor, campaign: Campaign, action: str, changes: dict, via: str) -> None:
    """A campaign's budget bounds what may be spent; a change to it is a spending decision."""
    events.campaign_changed(campaign=campaign, actor=actor, action=action, changes=changes, via=via)
