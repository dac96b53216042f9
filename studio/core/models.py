"""Core: workspaces, memberships and roles, in-app notifications, and the audit hash chain.

Nothing here knows a domain app: audit events name their subject by kind and id, and the chain's content
is defined in ``studio.core.audit``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

SLUG_VALIDATOR = RegexValidator(r"^[a-z0-9][a-z0-9-]*$", "Use lowercase letters, digits and dashes.")


class Sector(models.TextChoices):
    GENERAL = "general", "General"
    FINANCIAL = "financial", "Financial services"
    HEALTHCARE = "healthcare", "Healthcare"
    CHILDRENS_MEDIA = "childrens_media", "Children's media"


REGULATED_SECTORS = frozenset({Sector.FINANCIAL, Sector.HEALTHCARE, Sector.CHILDRENS_MEDIA})


class Workspace(models.Model):
    """A brand. Its style guide is the stable first part of every prompt (prompt-cache friendly)."""

    audit_subject_kind = "studio.workspace"  # its label before the move; stored in audit events

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True, validators=[SLUG_VALIDATOR])
    style_guide = models.TextField(blank=True, help_text="Prepended to every prompt, unchanged.")
    sector = models.CharField(max_length=20, choices=Sector.choices, default=Sector.GENERAL)
    regulated = models.BooleanField(
        default=False, help_text="Regulated workspaces send everything through compliance review."
    )
    default_locales = models.JSONField(default=list, blank=True)
    safety_fail_open = models.BooleanField(
        default=False, help_text="If a screener is down, let items through instead of waiting (audited)."
    )
    safety_screeners = models.JSONField(
        default=list, blank=True, help_text='Hosted screeners to run besides local rules: "azure", "openai".'
    )
    blocklist_terms = models.JSONField(default=list, blank=True)
    safety_policy = models.JSONField(
        default=dict,
        blank=True,
        help_text='Overrides on the sector preset: {"Violence": {"2": "review", "4": "block"}}',
    )
    review_sla_hours = models.PositiveIntegerField(default=48)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "studio_workspace"  # kept from before the move between apps
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(sector__in=Sector.values),
                name="workspace_sector_valid",
                violation_error_code="invalid_sector",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_regulated(self) -> bool:
        return self.regulated or self.sector in REGULATED_SECTORS


class Role(models.TextChoices):
    MARKETER = "marketer", "Marketer"
    BRAND_REVIEWER = "brand_reviewer", "Brand reviewer"
    COMPLIANCE = "compliance", "Compliance auditor"
    ADMIN = "admin", "Workspace admin"


class Membership(models.Model):
    audit_subject_kind = "studio.membership"  # its label before the move; stored in audit events

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "studio_membership"  # kept from before the move between apps
        constraints = [
            models.UniqueConstraint(
                fields=["user", "workspace", "role"],
                name="membership_unique_role",
                violation_error_code="duplicate_membership",
            ),
            models.CheckConstraint(
                condition=Q(role__in=Role.values), name="membership_role_valid", violation_error_code="invalid_role"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.workspace}"


class Notification(models.Model):
    audit_subject_kind = "approvals.notification"  # its label before the move; stored in audit events

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=40)
    text = models.CharField(max_length=400)
    url = models.CharField(max_length=300, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "approvals_notification"  # kept from before the move between apps
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.text


class AuditChain(models.Model):
    """The head of one workspace's hash chain. Appends lock this row, so the chain never forks."""

    audit_subject_kind = "approvals.auditchain"  # its label before the move; stored in audit events

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="audit_chain")
    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        db_table = "approvals_auditchain"  # kept from before the move between apps

    def __str__(self) -> str:
        return f"Audit chain of {self.workspace} at {self.last_seq}"


class AuditEvent(models.Model):
    """Append-only. Each event stores the previous event's hash and the hash of its own canonical
    content; PostgreSQL refuses UPDATE/DELETE on this table (trigger installed by migration)."""

    audit_subject_kind = "approvals.auditevent"  # its label before the move; stored in audit events

    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="audit_events")
    seq = models.PositiveBigIntegerField()
    action = models.CharField(max_length=80, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    actor_label = models.CharField(max_length=200)
    subject_type = models.CharField(max_length=60)
    subject_id = models.CharField(max_length=64)
    data = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    created_at = models.DateTimeField(db_index=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        db_table = "approvals_auditevent"  # kept from before the move between apps
        ordering = ["workspace", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "seq"], name="audit_unique_seq"),
        ]
        indexes = [models.Index(fields=["workspace", "subject_type", "subject_id"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"


# The transactional outbox's row lives in its own package; imported here so the app registry (and the
# migrations) know it.
from studio.core.outbox.models import OutboxMessage  # noqa: E402, F401
