"""Studio domain: workspaces, people, campaigns, drafts, deployments, generation jobs and variants.

Models carry their invariants (choices, check and unique constraints, ``clean``); every state change
goes through a service in ``studio/services.py`` which also writes the audit event.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from studio.core.models import SLUG_VALIDATOR, Workspace
from studio.safety.models import SafetyVerdict

MAX_EDGE_PX = 16384  # no channel needs more; bounds user input long before Pillow's limits


ENV_VAR_VALIDATOR = RegexValidator(
    r"^[A-Z_][A-Z0-9_]*$", "Give the name of an environment variable (e.g. AZURE_OPENAI_KEY), not a secret."
)


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


class SizeMode(models.TextChoices):
    FLEXIBLE = "flexible", "Any WxH within rules"
    FIXED = "fixed", "Standard sizes only"


class CapabilityProfile(models.Model):
    """What a model accepts, as admin-editable data (never ``if model == ...`` in code)."""

    name = models.CharField(max_length=80, unique=True, help_text="Model family, e.g. gpt-image-2")
    size_mode = models.CharField(max_length=10, choices=SizeMode.choices, default=SizeMode.FLEXIBLE)
    fixed_sizes = models.JSONField(default=list, blank=True, help_text='e.g. ["1024x1024", "1536x1024"]')
    size_multiple = models.PositiveIntegerField(default=16)
    max_edge = models.PositiveIntegerField(default=3840)
    min_pixels = models.PositiveIntegerField(default=655_360)
    max_pixels = models.PositiveIntegerField(default=8_294_400)
    max_aspect = models.FloatField(default=3.0, help_text="Longest side / shortest side")
    qualities = models.JSONField(default=list)
    output_formats = models.JSONField(default=list)
    backgrounds = models.JSONField(default=list)
    max_n = models.PositiveIntegerField(default=10)
    max_input_images = models.PositiveIntegerField(default=16)
    supports_mask = models.BooleanField(default=True)
    supports_markup = models.BooleanField(default=False)
    supports_input_fidelity = models.BooleanField(default=False)
    default_output_tokens = models.JSONField(
        default=dict,
        blank=True,
        help_text='Estimation fallback: output tokens per megapixel by quality, e.g. {"medium": 1500}',
    )
    deprecated = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(size_mode__in=SizeMode.values), name="profile_size_mode_valid"),
            models.CheckConstraint(condition=Q(max_aspect__gte=1.0), name="profile_aspect_at_least_one"),
            models.CheckConstraint(condition=Q(min_pixels__lte=models.F("max_pixels")), name="profile_pixel_range"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.size_mode == SizeMode.FIXED and not self.fixed_sizes:
            raise ValidationError({"fixed_sizes": "A fixed-size profile needs at least one size."})


class PriceTable(models.Model):
    """USD per 1M tokens, effective from a date. The newest row not in the future applies."""

    model_name = models.CharField(max_length=80, help_text="Matches CapabilityProfile.name")
    provider = models.CharField(max_length=20, blank=True, help_text="Blank = any provider")
    effective_from = models.DateField()
    image_input = models.DecimalField(max_digits=10, decimal_places=4)
    cached_image_input = models.DecimalField(max_digits=10, decimal_places=4)
    image_output = models.DecimalField(max_digits=10, decimal_places=4)
    text_input = models.DecimalField(max_digits=10, decimal_places=4)
    cached_text_input = models.DecimalField(max_digits=10, decimal_places=4)
    text_output = models.DecimalField(max_digits=10, decimal_places=4)

    class Meta:
        ordering = ["model_name", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["model_name", "provider", "effective_from"], name="price_unique_effective"),
            models.CheckConstraint(
                condition=Q(
                    image_input__gte=0,
                    cached_image_input__gte=0,
                    image_output__gte=0,
                    text_input__gte=0,
                    cached_text_input__gte=0,
                    text_output__gte=0,
                ),
                name="price_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model_name} from {self.effective_from}"


class ProviderKind(models.TextChoices):
    AZURE_OPENAI = "azure-openai", "Azure OpenAI / Microsoft Foundry"
    OPENAI = "openai", "OpenAI (or compatible)"
    OFFLINE = "offline", "Offline renderer"


class AzureSurface(models.TextChoices):
    V1 = "v1", "v1 (model = deployment name)"
    DEPLOYMENTS = "deployments", "Deployments + api-version"


class AuthMode(models.TextChoices):
    API_KEY = "api_key", "API key"
    ENTRA = "entra", "Entra ID (azure-identity)"


class Deployment(models.Model):
    """Where images come from. Holds the *name* of the env var with the secret, never the secret."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="deployments")
    name = models.CharField(max_length=80)
    provider = models.CharField(max_length=20, choices=ProviderKind.choices, default=ProviderKind.OFFLINE)
    endpoint = models.URLField(blank=True)
    model = models.CharField(max_length=120, help_text="Model id, or the Azure deployment name")
    azure_surface = models.CharField(max_length=12, choices=AzureSurface.choices, default=AzureSurface.V1)
    api_version = models.CharField(max_length=40, blank=True, default="2025-04-01-preview")
    auth_mode = models.CharField(max_length=10, choices=AuthMode.choices, default=AuthMode.API_KEY)
    secret_env = models.CharField(max_length=80, blank=True, validators=[ENV_VAR_VALIDATOR])
    profile = models.ForeignKey(CapabilityProfile, on_delete=models.PROTECT, related_name="deployments")
    routing = models.JSONField(
        default=dict,
        blank=True,
        help_text='Optional: {"size_tiers": {"smimage": {...}}, "token_buckets": {"16": {...}}}',
    )
    is_default = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="deployment_unique_name"),
            models.UniqueConstraint(
                fields=["workspace"],
                condition=Q(is_default=True),
                name="deployment_one_default",
                violation_error_code="duplicate_default",
            ),
            models.CheckConstraint(condition=Q(provider__in=ProviderKind.values), name="deployment_provider_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_provider_display()})"

    def clean(self) -> None:
        if self.provider != ProviderKind.OFFLINE and not self.endpoint and self.provider == ProviderKind.AZURE_OPENAI:
            raise ValidationError({"endpoint": "Azure deployments need an endpoint URL."})
        if self.provider != ProviderKind.OFFLINE and self.auth_mode == AuthMode.API_KEY and not self.secret_env:
            raise ValidationError({"secret_env": "Name the environment variable that holds the API key."})

    @property
    def is_offline(self) -> bool:
        return self.provider == ProviderKind.OFFLINE


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
    usage = models.JSONField(default=dict, blank=True)
    provider_request_id = models.CharField(max_length=200, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=60, blank=True)
    error_message = models.TextField(blank=True)
    safety_categories = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
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

    @property
    def awaiting_updates(self) -> bool:
        """True while the page should keep polling: running, or images still in their safety check."""
        return not self.is_terminal or any(v.status == VariantStatus.SAFETY_PENDING for v in self.variants.all())

    @property
    def placeholder_range(self) -> range:
        return range(self.n)

    @property
    def target_size(self) -> str:
        return f"{self.target_width}x{self.target_height}"


class VariantStatus(models.TextChoices):
    SAFETY_PENDING = "safety_pending", "Safety check pending"
    READY = "ready", "Ready to submit"
    BLOCKED = "blocked", "Blocked by safety"
    IN_REVIEW = "in_review", "In review"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    PUBLISHED = "published", "Published"
    SUPERSEDED = "superseded", "Superseded"


class Variant(models.Model):
    """One image. Immutable content: an edit makes a new variant with this one as parent."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="variants")
    job = models.ForeignKey(GenerationJob, on_delete=models.PROTECT, related_name="variants")
    draft = models.ForeignKey(PromptDraft, on_delete=models.CASCADE, related_name="variants")
    index = models.PositiveSmallIntegerField(default=0, help_text="Position within the job's output")
    parents = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="children")
    operation = models.CharField(max_length=10, choices=Operation.choices, default=Operation.GENERATE)
    locale = models.CharField(max_length=20, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="variants")

    image = models.FileField(upload_to="variants/%Y/%m/")
    thumbnail = models.FileField(upload_to="thumbs/%Y/%m/", blank=True)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    format = models.CharField(max_length=8)
    size_mismatch = models.BooleanField(default=False, help_text="Returned size differs from the plan")
    filter_results = models.JSONField(default=dict, blank=True, help_text="Provider per-image filter results")

    status = models.CharField(max_length=20, choices=VariantStatus.choices, default=VariantStatus.SAFETY_PENDING)
    safety_verdict = models.CharField(max_length=10, choices=SafetyVerdict.choices, default=SafetyVerdict.PENDING)
    safety_severity = models.PositiveSmallIntegerField(
        default=0, help_text="Highest severity (0-7) any screener reported for the image or its prompt: the risk"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "index"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=VariantStatus.values),
                name="variant_status_valid",
                violation_error_code="invalid_status",
            ),
            models.CheckConstraint(condition=Q(safety_verdict__in=SafetyVerdict.values), name="variant_verdict_valid"),
            models.CheckConstraint(condition=Q(width__gt=0, height__gt=0), name="variant_size_positive"),
            models.UniqueConstraint(
                fields=["job", "index"], name="variant_unique_job_index", violation_error_code="duplicate_variant"
            ),
        ]
        indexes = [models.Index(fields=["workspace", "status"])]

    def __str__(self) -> str:
        return f"Variant {self.pk} of {self.draft}"

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"

    @property
    def is_offline(self) -> bool:
        return self.job.deployment.provider == ProviderKind.OFFLINE
