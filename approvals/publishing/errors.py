"""Refusals of publishing (a ``studio.core.errors.Refusal`` through the workflow's base class)."""

from __future__ import annotations

from approvals.reviews.errors import WorkflowError


class NotPublishable(WorkflowError):
    """This variant cannot be published in this format (not approved, changed since, wrong campaign...)."""

    code = "not_publishable"
