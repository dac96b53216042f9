"""Where images come from: capability profiles (what a model accepts), price tables and deployments."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from studio.core.models import Workspace

ENV_VAR_VALIDATOR = RegexValidator(
    r"^[A-Z_][A-Z0-9_]*$", "Give the name of an environment variable (e.g. IMPRIMATUR_KEY_AZURE), not a secret."
)

MAX_REQUEST_TIMEOUT_S = 600  # below the job lease (IMPRIMATUR_JOB_LEASE_SECONDS, 900 by default)


def secret_env_problem(name: str) -> str | None:
    """Why ``name`` may not hold a deployment's key, or None. Only variables the operator set aside for keys
    qualify (the ``IMPRIMATUR_SECRET_ENV_PREFIX`` prefix or the ``IMPRIMATUR_SECRET_ENV_ALLOWLIST``): any
    other variable (``DJANGO_SECRET_KEY``, a database password) would be sent to the endpoint as a bearer
    token by "Test connection"."""
    if not name:
        return None
    prefix = getattr(settings, "IMPRIMATUR_SECRET_ENV_PREFIX", "IMPRIMATUR_KEY_")
    allowed = set(getattr(settings, "IMPRIMATUR_SECRET_ENV_ALLOWLIST", ()))
    if name in allowed or (prefix and name.startswith(prefix) and len(name) > len(prefix)):
        return None
    if name == "DJANGO_SECRET_KEY":
        return "DJANGO_SECRET_KEY is the site's own signing key and can never be sent to an image service."
    return (
        f"{name} is not a variable set aside for API keys: use a name starting with {prefix} "
        "(or ask the operator to add it to IMPRIMATUR_SECRET_ENV_ALLOWLIST)."
    )


def endpoint_problem(url: str) -> str | None:
    """Keys travel in the request headers, so endpoints are https unless the operator allows http
    (``IMPRIMATUR_ALLOW_HTTP_ENDPOINTS``, for local mock servers)."""
    if not url or url.lower().startswith("https://"):
        return None
    if getattr(settings, "IMPRIMATUR_ALLOW_HTTP_ENDPOINTS", False):
        return None
    return "The endpoint must use https:// (the API key is sent with every request)."


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
    # Limits shared by every worker (the limiter keeps the counts in Redis, or the database without it).
    max_concurrency = models.PositiveIntegerField(
        default=4, validators=[MinValueValidator(1)], help_text="Requests in flight at once, across all workers"
    )
    requests_per_minute = models.PositiveIntegerField(default=0, help_text="0 = no per-minute limit")
    # How long one call may take, and how long a job keeps retrying through an outage (time-based budget).
    # At most MAX_REQUEST_TIMEOUT_S: a call must end well inside the job's lease (900 s), or the sweeper
    # would re-queue a job whose call is still running and a second delivery would be billed again.
    request_timeout_seconds = models.PositiveIntegerField(
        default=120,
        validators=[
            MinValueValidator(5),
            MaxValueValidator(
                MAX_REQUEST_TIMEOUT_S,
                message="A call may take at most %(limit_value)s seconds: longer calls would outlive the job's lease.",
            ),
        ],
    )
    retry_budget_seconds = models.PositiveIntegerField(default=600)
    # Circuit breaker: consecutive failed calls, and until when new calls are paused.
    consecutive_failures = models.PositiveIntegerField(default=0)
    circuit_open_until = models.DateTimeField(null=True, blank=True)
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
        problems = {}
        if secret_problem := secret_env_problem(self.secret_env):
            problems["secret_env"] = secret_problem
        if self.provider != ProviderKind.OFFLINE and (url_problem := endpoint_problem(self.endpoint)):
            problems["endpoint"] = url_problem
        if problems:
            raise ValidationError(problems)

    @property
    def is_offline(self) -> bool:
        return self.provider == ProviderKind.OFFLINE
