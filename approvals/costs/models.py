"""Cost facts and rollups: what each settled job cost, what each approved asset's lineage cost, and the
daily sums the dashboard reads.

``JobCost`` is one row per settled job (written after the settle commits, or by the catch-up task);
``AssetCost`` is one row per approved asset, rewritten whenever a decision changes its draft's lineage;
``CostBreakdownDay`` holds the sums per day, scope and breakdown line and ``CostHistogramDay`` the percentile
inputs, both maintained by additive upserts, so a dashboard over any date range reads a few rows per day,
whatever the number of jobs. All money is USD:
``PriceTable`` carries no currency, so every fact is recorded as USD and the dashboard refuses to add
rows of different currencies should another ever appear.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
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


# ``campaign_ref`` of the rollup rows that cover a whole workspace (a campaign's rows carry its pk).
WORKSPACE_WIDE = 0


class Period(models.TextChoices):
    """How long a rollup row's ``day`` lasts: that day, or the week (Monday to Sunday) it starts. Every
    fact is added to both, so a range reads whole weeks from weekly rows and only its ragged ends (at
    most six days each) from daily ones: a 180-day page reads 37 periods' rows instead of 180."""

    DAY = "D", "day"
    WEEK = "W", "week"


class CostBreakdownDay(models.Model):
    """One day's (or week's) sums of one breakdown line of one scope (a workspace, or one of its campaigns).

    ``dimension`` names the breakdown (``total``, ``campaign``, ``model``, ``deployment_id``, ``quality``,
    ``size_class``, ``locale``, ``route``, ``operation``, ``outcome`` = status|cause, ``price`` =
    price row|rates digest) and ``value`` its line. A job adds to one line of every dimension on the day
    it settled; an approved asset to one line of every dimension on the day it was approved (each in its
    day's and its week's rows, ``Period``). So a page over any range reads a few dozen rows per period,
    whatever the number of jobs, and each breakdown is one ``GROUP BY`` away. Kept by additive upserts
    (``services.rollups``)."""

    # The unique key's index starts with the workspace, so the foreign key needs no index of its own.
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+", db_index=False)
    # Not a foreign key: 0 (``WORKSPACE_WIDE``) must be a value of the unique key, and NULL cannot be.
    campaign_ref = models.PositiveBigIntegerField(default=WORKSPACE_WIDE)
    period = models.CharField(max_length=1, choices=Period.choices, default=Period.DAY)
    day = models.DateField(help_text="The day, or the Monday of the week")
    dimension = models.CharField(max_length=16)
    value = models.CharField(max_length=120, blank=True)
    currency = models.CharField(max_length=3, default=DEFAULT_CURRENCY)
    # the jobs that settled on the day
    jobs = models.BigIntegerField(default=0)
    images = models.BigIntegerField(default=0)
    spend = _money()
    productive_spend = _money(help_text="The part of spend attributed to an approved asset's lineage")
    estimated_cost = _money()
    output_tokens = models.BigIntegerField(default=0)
    cached_tokens = models.BigIntegerField(default=0)
    cached_savings = _money()
    cached_jobs = models.BigIntegerField(default=0, help_text="Jobs whose usage reported cached input")
    # the assets approved on the day
    approved = models.BigIntegerField(default=0)
    published = models.BigIntegerField(default=0)
    lineage_spend = _money()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "campaign_ref", "period", "day", "dimension", "value", "currency"],
                name="cost_breakdown_day_unique_key",
            )
        ]
        indexes = [
            # The totals (charts, burn-down) without reading the other dimensions' rows.
            models.Index(
                fields=["workspace", "campaign_ref", "period", "day"],
                condition=models.Q(dimension="total"),
                name="cost_breakdown_day_totals",
            )
        ]

    def __str__(self) -> str:
        return f"{self.dimension}={self.value} on {self.day}"


class CostHistogramDay(models.Model):
    """How many observations of a ``metric`` fell in each ``bucket`` on a day (or week), per ``series``: the
    percentile inputs (provider latency per deployment, seconds from first generation to approval,
    estimate error per model/quality/pixel class). Buckets keep six significant bits
    (``histograms.bucket``), so a percentile read from them is within 1.6% of the exact one."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+", db_index=False)
    campaign_ref = models.PositiveBigIntegerField(default=WORKSPACE_WIDE)
    period = models.CharField(max_length=1, choices=Period.choices, default=Period.DAY)
    day = models.DateField(help_text="The day, or the Monday of the week")
    metric = models.CharField(max_length=24)
    series = models.CharField(max_length=120, blank=True)
    bucket = models.BigIntegerField()
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "campaign_ref", "period", "day", "metric", "series", "bucket"],
                name="cost_histogram_day_unique_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.metric} {self.series} [{self.bucket}] on {self.day}"


class DecisionCost(models.Model):
    """One recorded review decision: who decided, when, and how long after the review was submitted (the
    reviewer workload's time to decision, read from ``CostHistogramDay``). One row per decision makes
    recording idempotent, as ``JobCost`` does for jobs."""

    decision = models.OneToOneField(
        "approvals.Decision", primary_key=True, on_delete=models.CASCADE, related_name="cost_fact"
    )
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    decided_at = models.DateTimeField()
    day = models.DateField()
    seconds_to_decision = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"Decision {self.decision_id} by {self.reviewer_id}"


class CostWatermark(models.Model):
    """How far the catch-up task has read review closings and publications (one row)."""

    name = models.CharField(max_length=40, unique=True)
    reached_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.reached_at}"
