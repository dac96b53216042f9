"""The transactional outbox (see ``services``): ``outbox_enqueue`` records work in the caller's
transaction and publishes it after commit; ``outbox_republish`` re-sends what the broker never took."""

from studio.core.outbox.services import (
    BROKER_ERRORS,
    PendingPublish,
    RepublishReport,
    outbox_enqueue,
    outbox_key,
    outbox_publish,
    outbox_republish,
    outbox_waiting,
    task_send,
)

__all__ = [
    "BROKER_ERRORS",
    "PendingPublish",
    "RepublishReport",
    "outbox_enqueue",
    "outbox_key",
    "outbox_publish",
    "outbox_republish",
    "outbox_waiting",
    "task_send",
]
