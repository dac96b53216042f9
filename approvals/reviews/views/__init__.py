"""Review pages: the queue, one review, decisions, comments, submit/override, the inbox.

Thin views: parse with a form, call a selector or service, render. Every refusal (a
``studio.core.errors.Refusal``) becomes a message in plain words (never a 500); objects of other
workspaces are 404. Workspace pages live under ``/w/<slug>/reviews/``; ``legacy`` redirects the old
``/reviews/...`` URLs. Publishing's pages are in ``approvals.publishing.views``.
"""

from approvals.reviews.views import legacy
from approvals.reviews.views.inbox import inbox, inbox_mark_read
from approvals.reviews.views.queue import bulk_approve, queue, workspace_bulk_approve, workspace_queue
from approvals.reviews.views.review import (
    comment_add,
    comment_resolve,
    decision_reopen,
    decision_undo,
    review_decide,
    review_detail,
)
from approvals.reviews.views.submit import request_override, variant_submit

__all__ = [
    "bulk_approve",
    "comment_add",
    "comment_resolve",
    "decision_reopen",
    "decision_undo",
    "inbox",
    "inbox_mark_read",
    "legacy",
    "queue",
    "request_override",
    "review_decide",
    "review_detail",
    "variant_submit",
    "workspace_bulk_approve",
    "workspace_queue",
]
