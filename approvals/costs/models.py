"""Cost facts and rollups: what each settled job cost, what each approved asset's lineage cost, and the
daily sums the dashboard reads.

``JobCost`` is one row per settled job (written after the settle commits, or by the catch-up task);
``AssetCost`` is one row per approved asset, rewritten whenever a decision changes its draft's lineage;
``CostRollup`` holds the sums per day and breakdown key, maintained by additive upserts, so a dashboard
over any date range reads a few thousand rows at most, whatever the number of jobs. All money is USD:
``PriceTable`` carries no currency, so every fact is recorded as USD and the dashboard refuses to add
rows of different currencies should another ever appear.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models

from studio.core.models import Workspace
from studio.generation.models import Campaign, Deployment, GenerationJob, PriceTable, PromptDraft, Variant

DEFAULT_CURRENCY = "USD"
ZERO = Decimal(0)


def _money(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=16, decimal_places=6, default=ZERO, **kwargs)


class JobCost(models.Model):
    """What one settled job cost, with the keys the dashboard breaks spend down by."""

    job = models.OneToOneField(GenerationJob, primary_key=True, on_delete=models.CASCADE, related_name="cost_fact")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    draft = models.ForeignKey(PromptDraft, null=True, on_delete=models.CASCADE, related_name="+")
    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="+")
    settled_at = models.DateTimeField()
    day = models.DateField()
    model = models.CharField(max_length=80)
    quality = models.CharField(max_length=20)
    size_class = models.PositiveSmallIntegerField(help_text="Whole megapixels of the generation size")
    locale = models.CharField(max_length=20, blank=True)
    route = models.CharField(max_length=40)
    operation = models.CharField(max_length=10)
    status = models.CharField(max_length=16)
    cause = models.CharField(max_length=60, blank=True, help_text="Error or block code of a job that ended badly")
    currency = models.CharField(max_length=3, default=DEFAULT_CURRENCY)
    spend = _money()
    productive_spend = _money(help_text="The part of spend attributed to an approved asset's lineage")
    estimated_cost = _money()
    images = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cached_tokens = models.PositiveIntegerField(default=0)
    cached_savings = _money()
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    price_table = models.ForeignKey(PriceTable, null=True, on_delete=models.SET_NULL, related_name="+")
    price_rates = models.JSONField(default=dict, blank=True, help_text="The rates as they were when it settled")
    rates_digest = models.CharField(max_length=16, blank=True, help_text="Short hash of price_rates")

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "settled_at"]),
            models.Index(fields=["campaign", "settled_at"]),
            models.Index(fields=["draft"]),
        ]

    def __str__(self) -> str:
        return f"Cost of job {self.job_id}"

    @property
    def waste(self) -> Decimal:
        return self.spend - self.productive_spend


class AssetCost(models.Model):
    """One approved asset: when it was approved, and what its lineage cost (see ``attribution``)."""

    variant = models.OneToOneField(Variant, primary_key=True, on_delete=models.CASCADE, related_name="cost_fact")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    draft = models.ForeignKey(PromptDraft, on_delete=models.CASCADE, related_name="+")
    approved_at = models.DateTimeField()
    day = models.DateField()
    published_at = models.DateTimeField(null=True, blank=True)
    first_generation_at = models.DateTimeField()
    seconds_to_approval = models.PositiveBigIntegerField(default=0)
    lineage_spend = _money()
    lineage_jobs = models.PositiveIntegerField(default=0)
    currency = models.CharField(max_length=3, default=DEFAULT_CURRENCY)
    # The keys of the job that made the asset itself, for the breakdowns' "approved" column.
    model = models.CharField(max_length=80)
    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="+")
    quality = models.CharField(max_length=20)
    size_class = models.PositiveSmallIntegerField()
    locale = models.CharField(max_length=20, blank=True)
    route = models.CharField(max_length=40)
    operation = models.CharField(max_length=10)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "day"]),
            models.Index(fields=["campaign", "day"]),
            models.Index(fields=["draft"]),
        ]

    def __str__(self) -> str:
        return f"Cost of asset {self.variant_id}"


ROLLUP_KEYS = (
    "workspace_id",
    "campaign_id",
    "day",
    "model",
    "deployment_id",
    "quality",
    "size_class",
    "locale",
    "route",
    "operation",
    "status",
    "cause",
    "currency",
    "price_table_ref",
    "rates_digest",
)
ROLLUP_SUMS = (
    "jobs",
    "images",
    "spend",
    "productive_spend",
    "estimated_cost",
    "output_tokens",
    "cached_tokens",
    "cached_savings",
    "cached_jobs",
)


WORKSPACE_ROLLUP_KEYS = tuple(k for k in ROLLUP_KEYS if k != "campaign_id")


class RollupSums(models.Model):
    """The breakdown key and the sums shared by both rollups."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    model = models.CharField(max_length=80)
    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="+")
    quality = models.CharField(max_length=20)
    size_class = models.PositiveSmallIntegerField()
    locale = models.CharField(max_length=20, blank=True)
    route = models.CharField(max_length=40)
    operation = models.CharField(max_length=10)
    status = models.CharField(max_length=16)
    cause = models.CharField(max_length=60, blank=True)
    currency = models.CharField(max_length=3, default=DEFAULT_CURRENCY)
    # The price row's pk (0 = none applied): not a foreign key, so the unique key never holds a NULL.
    price_table_ref = models.PositiveIntegerField(default=0)
    rates_digest = models.CharField(max_length=16, blank=True)
    jobs = models.PositiveIntegerField(default=0)
    images = models.PositiveIntegerField(default=0)
    spend = _money()
    productive_spend = _money()
    estimated_cost = _money()
    output_tokens = models.PositiveBigIntegerField(default=0)
    cached_tokens = models.PositiveBigIntegerField(default=0)
    cached_savings = _money()
    cached_jobs = models.PositiveIntegerField(default=0, help_text="Jobs whose usage reported cached input")

    class Meta:
        abstract = True


class CostRollup(RollupSums):
    """Sums of ``JobCost`` per campaign, day and breakdown key, kept by additive upserts
    (``services.recording``): what campaign pages and the budget table read."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=[k.removesuffix("_id") for k in ROLLUP_KEYS], name="cost_rollup_unique_key")
        ]
        indexes = [models.Index(fields=["workspace", "day"]), models.Index(fields=["campaign", "day"])]

    def __str__(self) -> str:
        return f"Costs of {self.campaign_id} on {self.day}"


class WorkspaceCostRollup(RollupSums):
    """The same sums without the campaign in the key, so a workspace page over a long range reads one
    row per day and key instead of one per campaign, day and key."""

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[k.removesuffix("_id") for k in WORKSPACE_ROLLUP_KEYS], name="workspace_cost_rollup_unique_key"
            )
        ]
        indexes = [models.Index(fields=["workspace", "day"])]

    def __str__(self) -> str:
        return f"Costs of workspace {self.workspace_id} on {self.day}"


class CostWatermark(models.Model):
    """How far the catch-up task has read review closings and publications (one row)."""

    name = models.CharField(max_length=40, unique=True)
    reached_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.reached_at}"
