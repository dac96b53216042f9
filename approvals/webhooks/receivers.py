"""The webhooks' ear on the audit chain: every committed event that maps to a webhook type becomes one
delivery per subscribed endpoint, sent by Celery (``tasks.webhook_deliver``)."""

from __future__ import annotations

from django.db import transaction

from approvals.webhooks.delivery import deliveries_for_event
from approvals.webhooks.mapping import webhook_type_for


def on_audit_event_committed(sender, event, **kwargs) -> None:
    if webhook_type_for(event.action) is None:
        return  # most events: no query at all
    from approvals.webhooks.tasks import webhook_deliver

    with transaction.atomic():
        ids = deliveries_for_event(event)
        for pk in ids:
            transaction.on_commit(lambda pk=pk: webhook_deliver.delay(pk))
