"""The outbox row: one piece of work to publish to the queue, written in the same transaction as the
state change that needs it (``studio.core.outbox.services.outbox_enqueue``)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class OutboxMessage(models.Model):
    """A task to send by name, with its JSON arguments. ``published_at`` stays null until the broker took
    it; the sweeper re-publishes rows left null (the broker was down, or the process died after commit).

    Core knows no domain app: the task is a name, the arguments plain JSON, and ``key`` names the work
    ("studio.tasks.job_run:[42]") so a repair can tell whether it is already waiting to be published."""

    audit_subject_kind = "core.outboxmessage"

    task_name = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    queue = models.CharField(max_length=200, blank=True)
    key = models.CharField(max_length=300, db_index=True)
    # The workspace whose chain records a repair of this row (none for work that belongs to no workspace).
    workspace = models.ForeignKey(
        "core.Workspace", null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    published_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [
            models.Index(fields=["created_at"], condition=Q(published_at__isnull=True), name="outbox_unpublished"),
        ]

    def __str__(self) -> str:
        state = "published" if self.published_at else "waiting"
        return f"{self.task_name}{self.args} ({state})"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None
