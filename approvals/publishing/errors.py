"""Refusals of publishing (a ``studio.core.errors.Refusal`` through the workflow's base class)."""

from __future__ import annotations

from approvals.reviews.errors import WorkflowError
from studio.core.errors import Refusal


class NotPublishable(WorkflowError):
    """This variant cannot be published in this format (not approved, changed since, wrong campaign...)."""

    code = "not_publishable"


class PublicationFailed(Refusal):
    """The rendition could not be written to its destination (down, refused, misconfigured). The
    publication is left "failed" with this message and can be retried; nothing was published."""

    code = "destination_unavailable"
    status = 503


class NotRetractable(WorkflowError):
    """This publication cannot be retracted (already retracted, never published, no reason given)."""

    code = "not_retractable"
