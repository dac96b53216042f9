"""Reads of the cost app: the cost report (from the rollups), operations, and a direct recomputation
from the source tables that the tests compare the rollups against."""

from approvals.costs.selectors.operations import OperationsReport, operations_report
from approvals.costs.selectors.report import CostReport, CostScope, cost_report
from approvals.costs.selectors.scope import default_range, scope_for

__all__ = [
    "CostReport",
    "CostScope",
    "OperationsReport",
    "cost_report",
    "default_range",
    "operations_report",
    "scope_for",
]
