"""Writes of the cost app: recording settled jobs and attributions into the rollups, and budget alerts."""

from approvals.costs.services.alerts import budget_alert_check, budget_alert_threshold_set
from approvals.costs.services.recording import (
    costs_catch_up,
    draft_attribution_refresh,
    job_cost_record,
)

__all__ = [
    "budget_alert_check",
    "budget_alert_threshold_set",
    "costs_catch_up",
    "draft_attribution_refresh",
    "job_cost_record",
]
