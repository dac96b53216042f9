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
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

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
        ]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="run_ws_recent")]

    def __str__(self) -> str:
        return f"Run #{self.pk} · {self.campaign}"


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
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["target_format__name", "locale"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=CellStatus.values), name="cell_status_valid"),
            models.UniqueConstraint(fields=["run", "target_format", "locale"], name="cell_unique_in_run"),
        ]
        indexes = [models.Index(fields=["run", "status"], name="cell_run_status")]

    def __str__(self) -> str:
        return f"{self.target_format.name} · {self.locale}"
