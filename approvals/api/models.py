"""API keys and the idempotency records of POST requests made with them.

A key is stored as its public prefix (``imp_live_`` + 10 characters, the lookup id) and the SHA-256 of
the whole key. The secret part is 256 random bits, so a fast hash is the right one: a slow password hash
(argon2, PBKDF2) protects low-entropy secrets against guessing and would cost every API request tens of
milliseconds for no gain. The key itself is shown once, when it is made, and never stored or logged.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from studio.core.models import Workspace


class ApiScope(models.TextChoices):
    READ = "read", "Read"
    GENERATE = "generate", "Generate (drafts, jobs, runs)"
    REVIEW = "review", "Review (submit and decide)"
    PUBLISH = "publish", "Publish"


class ApiKey(models.Model):
    """A workspace-scoped key that acts as ``user``, with that user's roles in ``workspace`` and never
    more; ``scopes`` narrow what it may do further."""

    audit_subject_kind = "api.apikey"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_keys")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=32, unique=True, help_text="The key's public lookup id")
    key_hash = models.CharField(max_length=64, help_text="SHA-256 of the whole key")
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="apikey_ws_recent")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return not self.is_revoked and not self.is_expired

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])


class IdempotencyRecord(models.Model):
    """The first response to a POST sent with an ``Idempotency-Key``, replayed for the same key and body.

    ``status_code`` is null while the first request is still running (a concurrent repeat is told so)."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="idempotency_records")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    body = models.TextField(blank=True)
    location = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["api_key", "user", "key"],
                name="idempotency_unique_key",
                violation_error_code="idempotency_key_taken",
            ),
            models.CheckConstraint(
                condition=Q(status_code__isnull=True) | Q(status_code__gte=100, status_code__lt=600),
                name="idempotency_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"Idempotency-Key {self.key} of {self.api_key_id}"
