"""Production runs: a campaign's formats x locales as one planned, budgeted batch of cells.

A cell is one (format, locale) pair; it owns at most one generation job at a time (a retry makes a new job
and keeps the old one for the record). The run's reservation is the sum of its cells' jobs' reservations,
so cancelling releases exactly what was not spent."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from studio.core.models import Workspace
from studio.generation.models import Campaign, CampaignFormat, Deployment, DraftVersion, GenerationJob, Variant


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    CANCELLING = "cancelling", "Cancelling"
    CANCELLED = "cancelled", "Cancelled"
    FINISHED = "finished", "Finished"


RUN_TERMINAL = frozenset({RunStatus.CANCELLED, RunStatus.FINISHED})


class CellStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Done"
    FAILED = "failed", "Failed"
    BLOCKED = "blocked", "Blocked by safety"
    CANCELLED = "cancelled", "Cancelled"


CELL_TERMINAL = frozenset({CellStatus.SUCCEEDED, CellStatus.FAILED, CellStatus.BLOCKED, CellStatus.CANCELLED})


class ProductionRun(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="runs")
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="runs")
    # Exactly one source: a draft version to generate from, or an approved master variant to derive from.
    source_version = models.ForeignKey(
        DraftVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="runs"
    )
    master = models.ForeignKey(Variant, null=True, blank=True, on_delete=models.PROTECT, related_name="runs")
    deployment = models.ForeignKey(Deployment, on_delete=models.PROTECT, related_name="runs")
    variants_per_cell = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(10)])
    quality = models.CharField(max_length=10, blank=True)
    status = models.CharField(max_length=12, choices=RunStatus.choices, default=RunStatus.RUNNING)
    estimated_cost = models.DecimalField(max_digits=16, decimal_places=6, default=Decimal("0"))
    # Launching reserves the whole run on the campaign at once; the cells' jobs are then made in chunks by a
    # task (``studio.runs.launching``). ``reserved_cost`` is the part of that reservation not yet handed to a
    # job, and ``preparing`` is true until every cell has its job (the run cannot finish before that).
    reserved_cost = models.DecimalField(max_digits=16, decimal_places=6, default=Decimal("0"))
    preparing = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Cells the plan refused at launch (format outside the size rules, no copy, over budget with "launch
    # only what fits"): [{"format", "locale", "reason"}], so the run page lists them instead of hiding them.
    refused = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True, help_text="Why the run stopped early (e.g. its deployment was removed)")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=RunStatus.values), name="run_status_valid"),
            models.CheckConstraint(
                condition=(Q(source_version__isnull=False) & Q(master__isnull=True))
                | (Q(source_version__isnull=True) & Q(master__isnull=False)),
                name="run_one_source",
            ),
            models.CheckConstraint(condition=Q(estimated_cost__gte=0), name="run_estimate_non_negative"),
            models.CheckConstraint(
                condition=Q(reserved_cost__gte=0),
                name="run_reserved_non_negative",
                violation_error_code="run_reserved_negative",
            ),
        ]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="run_ws_recent")]

    def __str__(self) -> str:
        return f"Run #{self.pk} · {self.campaign}"

    @property
    def is_running(self) -> bool:
        return self.status == RunStatus.RUNNING

    @property
    def is_terminal(self) -> bool:
        return self.status in RUN_TERMINAL

    @property
    def source_label(self) -> str:
        if self.master_id:
            return f"approved master #{self.master_id}"
        return f"draft version {self.source_version.number}" if self.source_version_id else "—"


class RunCell(models.Model):
    run = models.ForeignKey(ProductionRun, on_delete=models.CASCADE, related_name="cells")
    target_format = models.ForeignKey(CampaignFormat, on_delete=models.PROTECT, related_name="+")
    locale = models.CharField(max_length=20)
    status = models.CharField(max_length=10, choices=CellStatus.choices, default=CellStatus.QUEUED)
    job = models.ForeignKey(GenerationJob, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    attempts = models.PositiveSmallIntegerField(default=0)
    estimated_cost = models.DecimalField(max_digits=16, decimal_places=6, default=Decimal("0"))
    actual_cost = models.DecimalField(max_digits=16, decimal_places=6, null=True, blank=True)
    error = models.TextField(blank=True)
    planned_size = models.CharField(max_length=20, blank=True, help_text="The generation size, WxH")
    plan_notes = models.JSONField(default=list, blank=True)
    # When the cell's task was last published (the runs sweeper re-publishes a queued cell nobody took),
    # and when a worker started and finished it.
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["target_format__name", "locale"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=CellStatus.values), name="cell_status_valid"),
            models.UniqueConstraint(fields=["run", "target_format", "locale"], name="cell_unique_in_run"),
        ]
        indexes = [models.Index(fields=["run", "status"], name="cell_run_status")]

    def __str__(self) -> str:
        return f"{self.target_format.name} · {self.locale or 'no locale'}"

    @property
    def is_terminal(self) -> bool:
        return self.status in CELL_TERMINAL

    @property
    def is_failed(self) -> bool:
        return self.status == CellStatus.FAILED


class LeaseKind(models.TextChoices):
    SLOT = "slot", "Call in flight"
    REQUEST = "request", "Request this minute"
    PAUSE = "pause", "Slow-down after a 429"


class LimiterLease(models.Model):
    """The deployment limiter's counts when there is no Redis (``studio.generation.limiter``; this app
    registers the backend): a slot or a request of the last minute is a row that expires by itself, so a
    killed worker's slot frees when its lease runs out."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=LeaseKind.choices)
    token = models.CharField(max_length=40)
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["deployment", "kind", "expires_at"], name="lease_dep_kind_expiry")]

    def __str__(self) -> str:
        return f"{self.kind} {self.token[:8]} until {self.expires_at:%H:%M:%S}"
