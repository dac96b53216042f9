"""Campaigns (with their budget and channel formats), prompt templates, drafts and their versions."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from studio.core.models import SLUG_VALIDATOR, Workspace
from studio.lib.sizing import MAX_EDGE_PX


class Campaign(models.Model):
    """A campaign with a budget. ``reserved_cost`` holds estimates of jobs in flight; ``spent_cost`` the
    settled actuals. A launch reserves under a row lock so concurrent launches can never overspend."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, validators=[SLUG_VALIDATOR])
    locales = models.JSONField(default=list, blank=True)
    budget = models.DecimalField(max_digits=16, decimal_places=6, default=Decimal("100"))
    reserved_cost = models.DecimalField(max_digits=16, decimal_places=6, default=Decimal("0"))
    spent_cost = models.DecimalField(max_digits=16, decimal_places=6, default=Decimal("0"))
    budget_alert_percent = models.PositiveSmallIntegerField(
        default=80,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Alert the workspace when spent + reserved crosses this share of the budget",
    )
    budget_alert_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "slug"], name="campaign_unique_slug"),
            models.CheckConstraint(
                condition=Q(budget__gte=0) & Q(reserved_cost__gte=0) & Q(spent_cost__gte=0),
                name="campaign_money_non_negative",
                violation_error_code="negative_money",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def remaining(self) -> Decimal:
        return self.budget - self.reserved_cost - self.spent_cost


class CampaignFormat(models.Model):
    """A channel output at exact pixels (e.g. "LinkedIn ad 1200x628")."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="formats")
    name = models.CharField(max_length=80)
    channel = models.CharField(max_length=60, blank=True)
    width = models.PositiveIntegerField(validators=[MinValueValidator(16), MaxValueValidator(MAX_EDGE_PX)])
    height = models.PositiveIntegerField(validators=[MinValueValidator(16), MaxValueValidator(MAX_EDGE_PX)])

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(width__gte=16, width__lte=MAX_EDGE_PX, height__gte=16, height__lte=MAX_EDGE_PX),
                name="format_size_in_range",
                violation_error_code="size_out_of_range",
            ),
            models.UniqueConstraint(fields=["campaign", "name"], name="format_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.width}x{self.height})"

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"


class PromptTemplate(models.Model):
    """Reusable prompt with ``{named}`` variables, per workspace."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="prompt_templates")
    name = models.CharField(max_length=120)
    text = models.TextField()
    style_preset = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="template_unique_name")]

    def __str__(self) -> str:
        return self.name


class PromptDraft(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="drafts")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="drafts")
    title = models.CharField(max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return self.title


class DraftVersion(models.Model):
    """An immutable version of a draft's text. Jobs point at the version they ran."""

    draft = models.ForeignKey(PromptDraft, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    text = models.TextField(max_length=32000)
    variables = models.JSONField(default=dict, blank=True)
    locale_copy = models.JSONField(default=dict, blank=True, help_text='In-image copy per locale: {"ja": "..."}')
    template = models.ForeignKey(PromptTemplate, null=True, blank=True, on_delete=models.SET_NULL)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["draft", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["draft", "number"], name="draft_version_unique_number"),
            models.CheckConstraint(condition=Q(number__gte=1), name="draft_version_number_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.draft} v{self.number}"
