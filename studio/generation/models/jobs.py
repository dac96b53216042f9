"""Generation jobs: one call to a deployment with every parameter needed to run it again."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from studio.core.models import Workspace
from studio.generation.models.campaigns import Campaign, CampaignFormat, DraftVersion
from studio.generation.models.deployments import Deployment


class Operation(models.TextChoices):
    GENERATE = "generate", "Generate"
    EDIT = "edit", "Edit"
    INPAINT = "inpaint", "Inpaint"
    LOCALISE = "localise", "Localise"
    RERUN = "rerun", "Re-run"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SAFETY_PENDING = "safety_pending", "Safety check pending"
    RUNNING = "running", "Running"
    RETRYING = "retrying", "Retrying"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    BLOCKED = "blocked", "Blocked by safety"


JOB_TERMINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.BLOCKED})


class GenerationJob(models.Model):
    """One call (generate or edit) to a deployment, with every parameter needed to re-run it."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="jobs")
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="jobs")
    draft_version = models.ForeignKey(
        DraftVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="jobs"
    )
    deployment = models.ForeignKey(Deployment, on_delete=models.PROTECT, related_name="jobs")
    target_format = models.ForeignKey(
        CampaignFormat, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    operation = models.CharField(max_length=10, choices=Operation.choices, default=Operation.GENERATE)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="jobs")
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    prompt = models.TextField(help_text="The full prompt as sent: style prefix, values and copy included")
    instruction = models.TextField(blank=True, help_text="Edit instruction, for edits")
    locale = models.CharField(max_length=20, blank=True)
    params = models.JSONField(default=dict, help_text="Every request parameter sent to the provider")
    n = models.PositiveSmallIntegerField(default=1)
    target_width = models.PositiveIntegerField()
    target_height = models.PositiveIntegerField()
    planned_width = models.PositiveIntegerField()
    planned_height = models.PositiveIntegerField()
    plan_notes = models.JSONField(default=list, blank=True)
    route = models.CharField(max_length=40, default="explicit", help_text="explicit, tier:<name> or bucket:<n>")
    base_variant = models.ForeignKey("Variant", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reference_variants = models.ManyToManyField("Variant", blank=True, related_name="+")
    reference_uploads = models.JSONField(default=list, blank=True, help_text="Storage paths of uploaded references")
    mask = models.FileField(upload_to="masks/%Y/%m/", blank=True)
    rerun_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reruns")

    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="0..100, shown as a progress bar")
    attempts = models.PositiveSmallIntegerField(default=0)
    estimated_cost = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal("0"))
    estimate_basis = models.CharField(max_length=200, blank=True)
    reserved_cost = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal("0"))
    actual_cost = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    # A success is recorded in two steps (studio.generation.services.budget): the job with its actual cost
    # first, then, in a short transaction of its own, the campaign's numbers. True in between.
    settle_pending = models.BooleanField(default=False)
    usage = models.JSONField(default=dict, blank=True)
    provider_request_id = models.CharField(max_length=200, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=60, blank=True)
    error_message = models.TextField(blank=True)
    safety_categories = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # When a worker last claimed the job: its lease runs from here (see studio.generation.services.sweeper).
    claimed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=JobStatus.values), name="job_status_valid", violation_error_code="invalid_status"
            ),
            models.CheckConstraint(condition=Q(operation__in=Operation.values), name="job_operation_valid"),
            models.CheckConstraint(condition=Q(n__gte=1, n__lte=10), name="job_n_range"),
            models.CheckConstraint(condition=Q(progress__lte=100), name="job_progress_range"),
            models.CheckConstraint(
                condition=Q(estimated_cost__gte=0, reserved_cost__gte=0)
                & (Q(actual_cost__isnull=True) | Q(actual_cost__gte=0)),
                name="job_cost_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(operation=Operation.GENERATE)
                | Q(operation=Operation.RERUN)
                | Q(base_variant__isnull=False),
                name="job_edit_has_base",
                violation_error_code="edit_without_base",
            ),
        ]
        indexes = [models.Index(fields=["workspace", "status"])]

    def __str__(self) -> str:
        return f"Job {self.pk} ({self.get_status_display()})"

    @property
    def is_terminal(self) -> bool:
        return self.status in JOB_TERMINAL

    @property
    def planned_size(self) -> str:
        return f"{self.planned_width}x{self.planned_height}"

    # Named states for templates, so pages never compare against status strings.
    @property
    def is_queued(self) -> bool:
        return self.status == JobStatus.QUEUED

    @property
    def is_safety_pending(self) -> bool:
        return self.status == JobStatus.SAFETY_PENDING

    @property
    def is_retrying(self) -> bool:
        return self.status == JobStatus.RETRYING

    @property
    def is_blocked(self) -> bool:
        return self.status == JobStatus.BLOCKED

    @property
    def ended_badly(self) -> bool:
        """Blocked or failed: its message is an error, not a note."""
        return self.status in (JobStatus.BLOCKED, JobStatus.FAILED)

    @property
    def awaiting_updates(self) -> bool:
        """True while the page should keep polling: running, or images still in their safety check."""
        return not self.is_terminal or any(v.is_safety_pending for v in self.variants.all())

    @property
    def placeholder_range(self) -> range:
        return range(self.n)

    @property
    def target_size(self) -> str:
        return f"{self.target_width}x{self.target_height}"
