"""A transactional outbox: work to enqueue is written as a row in the same transaction as the state change
that needs it, and published to the broker after that transaction commits.

Why: a task enqueued *inside* a transaction can run before the commit (and find nothing), and a task
enqueued *after* it is lost when the broker is down or the process dies in between (issue 10: a job saved
"queued" and reserved that no worker would ever run). With the row, the work commits or rolls back with
the change, and what was not published is found and re-sent by ``outbox_republish`` (run by the studio's
sweeper every minute) — at least once; the tasks are idempotent, so a second delivery does nothing.

The core knows no domain app: a task is a name and JSON arguments. Publishing looks the name up in the
Celery app's registry (so eager mode and task routes apply exactly as with ``.delay``), else sends it by
name (``celery.current_app.send_task``).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from celery import current_app
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from studio.core.outbox.models import OutboxMessage

logger = logging.getLogger(__name__)

# What publishing raises when the broker is down (kombu wraps most; a raw refused socket can escape).
BROKER_ERRORS: tuple[type[BaseException], ...] = (KombuOperationalError, ConnectionError, OSError)
# Rows younger than this may still be on their way out (their on-commit publish is running): not repaired.
REPUBLISH_GRACE = timedelta(seconds=30)
BATCH = 500
_URL_CREDENTIALS = re.compile(r"(://)[^/@\s]+@")


def outbox_key(task_name: str, args: list) -> str:
    """What the work is, as text: the same task with the same arguments is the same work."""
    return f"{task_name}:{json.dumps(args, separators=(',', ':'), sort_keys=True, default=str)}"[:300]


_discovered: list[bool] = []
_discovery_lock = threading.Lock()


def _registered_task(task_name: str):
    """The task registered under ``task_name`` in this process, importing the task modules once (a web
    process that only publishes may never have imported them), or None when it is not known here."""
    task = current_app.tasks.get(task_name)
    if task is None:
        with _discovery_lock:  # the first publishers of a process may race here (threads)
            if not _discovered:
                current_app.loader.import_default_modules()  # CELERY_IMPORTS and every app's tasks module
                _discovered.append(True)
        task = current_app.tasks.get(task_name)
    return task


def task_send(task_name: str, args: list, queue: str | None) -> None:
    """Hand one message to the broker. The one seam tests (and the bench) replace to take the broker away."""
    options = {"queue": queue} if queue else {}
    task = _registered_task(task_name)
    if task is not None:
        task.apply_async(args=args, **options)
    else:
        current_app.send_task(task_name, args=args, **options)


def _error_text(exc: BaseException) -> str:
    # A broker error may quote its URL: never store a password with it.
    return _URL_CREDENTIALS.sub(r"\1***@", f"{type(exc).__name__}: {exc}")[:500]


def outbox_publish(message_id: int) -> bool:
    """Publish one row now; ``True`` when the broker took it (or it was already published). Never raises
    for a broker outage: the row stays unpublished for ``outbox_republish``."""
    message = OutboxMessage.objects.filter(pk=message_id, published_at__isnull=True).first()
    if message is None:
        return OutboxMessage.objects.filter(pk=message_id).exists()
    try:
        task_send(message.task_name, list(message.args), message.queue or None)
    except BROKER_ERRORS as exc:
        logger.warning("broker unreachable: %s stays in the outbox", message.key, exc_info=True)
        OutboxMessage.objects.filter(pk=message_id).update(attempts=F("attempts") + 1, last_error=_error_text(exc))
        return False
    OutboxMessage.objects.filter(pk=message_id).update(published_at=timezone.now(), attempts=F("attempts") + 1)
    return True


@dataclass
class PendingPublish:
    """What ``outbox_enqueue`` hands back: the row, and after the commit whether the broker took it."""

    message: OutboxMessage
    published: bool | None = None  # None until the transaction committed and the publish ran

    @property
    def unreachable(self) -> bool:
        return self.published is False


def outbox_enqueue(task_name: str, args: list, *, queue: str | None = None, workspace=None) -> PendingPublish:
    """Record ``task_name(*args)`` in the caller's transaction and publish it after the commit. ``workspace``
    (optional) is whose audit chain records a later repair of this row. Outside a transaction the row is
    saved and published at once."""
    message = OutboxMessage.objects.create(
        task_name=task_name,
        args=list(args),
        queue=queue or "",
        key=outbox_key(task_name, list(args)),
        workspace=workspace,
    )
    pending = PendingPublish(message=message)

    def publish() -> None:
        pending.published = outbox_publish(message.pk)

    transaction.on_commit(publish)
    return pending


def outbox_waiting(task_name: str, args: list) -> bool:
    """True while the same work is recorded but not yet published (a repair must not record it twice)."""
    return OutboxMessage.objects.filter(key=outbox_key(task_name, list(args)), published_at__isnull=True).exists()


@dataclass
class RepublishReport:
    published: list[int] = field(default_factory=list)
    still_waiting: list[int] = field(default_factory=list)


def outbox_republish(*, now: datetime | None = None, reason: str = "") -> RepublishReport:
    """Publish every row older than ``REPUBLISH_GRACE`` that the broker never took, one at a time, each
    under its row lock (``SKIP LOCKED``: two sweepers never send the same row). A row whose publish fails
    again (the broker is still down) is left for the next run; each row published is audited in its
    workspace's chain as a repair."""
    from studio.core.outbox.events import outbox_republished  # events import the audit chain, which is heavy

    now = now or timezone.now()
    report = RepublishReport()
    due = OutboxMessage.objects.filter(published_at__isnull=True, created_at__lt=now - REPUBLISH_GRACE)
    for message_id in due.order_by("pk").values_list("pk", flat=True)[:BATCH]:
        with transaction.atomic():
            message = (
                OutboxMessage.objects.select_for_update(skip_locked=True)
                .filter(pk=message_id, published_at__isnull=True)
                .first()
            )
            if message is None:
                continue
            try:
                task_send(message.task_name, list(message.args), message.queue or None)
            except BROKER_ERRORS as exc:
                message.attempts += 1
                message.last_error = _error_text(exc)
                message.save(update_fields=["attempts", "last_error"])
                report.still_waiting.append(message.pk)
                continue
            message.attempts += 1
            message.published_at = timezone.now()
            message.save(update_fields=["attempts", "published_at"])
            if message.workspace_id is not None:
                why = reason or (
                    "the queue was unreachable when it was first sent"
                    if message.last_error
                    else "it was never sent (the process stopped after saving it)"
                )
                outbox_republished(message=message, reason=why)
        report.published.append(message_id)
    return report
