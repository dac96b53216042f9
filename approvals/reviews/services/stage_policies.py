"""Stage policies (who reviews a stage, which rule decides it) changed in the admin, with their audit event."""

from __future__ import annotations

from django.db import transaction

from approvals.reviews import events
from approvals.reviews.models import StagePolicy


@transaction.atomic
def stage_policy_change_record(*, actor, policy: StagePolicy, action: str, changes: dict, via: str) -> None:
    """Who may approve is part of the approval's evidence, so every change of it is in the chain."""
    events.stage_policy_changed(policy=policy, actor=actor, action=action, changes=changes, via=via)
