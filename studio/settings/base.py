"""Settings shared by every environment.

Everything is read from the environment with an embedded default, so a fresh clone runs with no
configuration at all: SQLite under var/, local files under var/media/, kombu's filesystem broker under
var/broker/ and the offline image renderer.
"""

from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("IMPRIMATUR_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="insecure-local-only-key-change-me-in-production-0123456789")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    # Layers, lowest first; each imports only from those above it in this list (import-linter holds it).
    "studio.core",
    "studio.safety",
    "studio.provenance",
    "studio.generation",
    "studio.runs",
    "approvals.reviews",
    "approvals.publishing",
    "approvals.compliance",
    "approvals.costs",
    "approvals.webhooks",
    "approvals.api",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",  # before login_guard: axes counts a failed sign-in first, and login_guard reads its count
    "studio.core.login_guard.apps.LoginGuardConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "studio.core.middleware.ContentSecurityPolicyMiddleware",
    "studio.security_middleware.ProbeThrottleMiddleware",  # after auth and CSP: its 429 gets the headers
    "studio.core.audit.middleware.AuditRequestMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out sign-in into the lockout page
]

ROOT_URLCONF = "studio.root_urls"
WSGI_APPLICATION = "studio.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "studio.core.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'imprimatur.sqlite3'}"),
}
DATABASES["default"].setdefault("ATOMIC_REQUESTS", False)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL plus a busy timeout lets the web process and the worker share the file without
    # "database is locked" errors; IMMEDIATE makes select_for_update-style sections serialise.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# --- Login throttling (django-axes): N failures per username + IP address lock that pair out for the
# cool-off, on the login page and the admin's alike. Failed sign-ins are logged and audited
# (studio.core.login_guard). Behind a proxy, set AXES_IPWARE_PROXY_COUNT so the client address is used.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("IMPRIMATUR_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("IMPRIMATUR_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "studio.core.login_guard.lockout.lockout_response"
AXES_IPWARE_PROXY_COUNT = env.int("AXES_IPWARE_PROXY_COUNT", default=0) or None
IMPRIMATUR_SHOW_DEMO_LOGINS = env.bool("IMPRIMATUR_SHOW_DEMO_LOGINS", default=False)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "studio:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))

# --- Storage: local files by default, S3 (or any S3-compatible store) when a bucket is named.
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("AWS_S3_REGION_NAME", default="us-east-1"),
            "access_key": env.str("AWS_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default="") or None,
            "addressing_style": env.str("AWS_S3_ADDRESSING_STYLE", default="") or None,
            "custom_domain": env.str("AWS_S3_CUSTOM_DOMAIN", default="") or None,
            "querystring_auth": env.bool("AWS_QUERYSTRING_AUTH", default=True),
            "file_overwrite": False,
        },
    }
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": MEDIA_URL},
    }
# Unpublished images are served only through the studio's authorised views; on S3 they redirect to a
# signed URL that expires after this many seconds (published renditions keep their public URL).
IMPRIMATUR_MEDIA_URL_SECONDS = env.int("IMPRIMATUR_MEDIA_URL_SECONDS", default=300)
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "studio.core.static_storage.StudioStaticFilesStorage"},
}

# --- Uploads: refuse big bodies early; Pillow's decompression-bomb guard stays on.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
IMPRIMATUR_MAX_UPLOAD_BYTES = env.int("IMPRIMATUR_MAX_UPLOAD_BYTES", default=20 * 1024 * 1024)
IMPRIMATUR_MAX_IMAGE_PIXELS = env.int("IMPRIMATUR_MAX_IMAGE_PIXELS", default=40_000_000)

# --- Celery: kombu's filesystem transport by default (no server), Redis/RabbitMQ when configured.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
BROKER_DIR = VAR_DIR / "broker"
# Redis only. With acks_late, a task's message stays "unacked" in Redis until the task finishes; a task
# retried with a countdown is held unacked by a worker until its ETA too, and then runs. If the worker
# dies (OOM kill, SIGKILL, lost host), another worker puts the message back on its queue once it has been
# unacked for longer than this timeout, and the task runs again (idempotently). So it must be above the
# longest countdown PLUS the slowest task, or a healthy worker's task is delivered a second time:
# 900 s (a provider's retry-after is honoured up to 900 s; the image check backs off up to 15 minutes)
# + 600 s (job_run's soft_time_limit, the slowest task) = 1,500 s, so 1,800 s. Short, against kombu's
# hour, because the sweeper (``jobs_sweep``) and the job lease below cover a crashed worker's jobs.
# tests/studio/test_settings.py pins the rule against the tasks' own limits.
IMPRIMATUR_VISIBILITY_TIMEOUT_SECONDS = env.int("CELERY_VISIBILITY_TIMEOUT", default=1800)
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
        # kombu keeps its exchange tables here; its default is ./control, relative to whatever directory
        # the process started in, which is how a hostname once ended up committed at the top level.
        "control_folder": str(BROKER_DIR / "control"),
    }
elif CELERY_BROKER_URL.startswith("redis"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": IMPRIMATUR_VISIBILITY_TIMEOUT_SECONDS}
CELERY_IMPORTS = ["studio.safety.tasks"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "review-reminders": {"task": "approvals.tasks.reviews_send_reminders", "schedule": 15 * 60},
    # The repair path for stuck jobs and images (studio.generation.services.sweeper).
    "jobs-sweep": {"task": "studio.tasks.jobs_sweep", "schedule": 60},
    # Production runs' stuck cells and unclosed runs (studio.runs.sweeper).
    "runs-sweep": {"task": "runs.runs_sweep", "schedule": 60},
    # Cost facts and rollups the after-commit hooks missed (approvals.costs.services.recording).
    "costs-catch-up": {"task": "costs.tasks.costs_catch_up", "schedule": 5 * 60},
    # Webhook retries that are due, and attempts of crashed workers (approvals.webhooks.tasks).
    "webhooks-dispatch": {"task": "approvals.webhooks.tasks.webhooks_dispatch", "schedule": 30},
    # Expired Idempotency-Key records of the API (approvals.api.idempotency).
    "api-idempotency-sweep": {"task": "approvals.api.tasks.idempotency_records_sweep", "schedule": 60 * 60},
}
# A claimed job's lease: another delivery may take it over only after this (job_run's soft_time_limit of
# 600 s plus a margin); the sweeper re-queues "running" jobs whose lease ran out.
IMPRIMATUR_JOB_LEASE_SECONDS = env.int("IMPRIMATUR_JOB_LEASE_SECONDS", default=900)
# Redis redelivers an unacked message only after the visibility timeout, so the lease never outlasts it:
# a message redelivered from a dead worker always finds the lease expired and takes the job over at once.
_visibility = globals().get("CELERY_BROKER_TRANSPORT_OPTIONS", {}).get("visibility_timeout")
if _visibility:
    IMPRIMATUR_JOB_LEASE_SECONDS = min(IMPRIMATUR_JOB_LEASE_SECONDS, int(_visibility))

# --- Image providers. The embedded default is the offline renderer; real deployments are data
# (Deployment rows) whose secret is read at call time from the env var they name.
# Deployment keys: only env vars with this prefix, or named in the operator's allow-list, may hold one
# (never DJANGO_SECRET_KEY or a database password); endpoints are https unless http is allowed (mocks).
IMPRIMATUR_SECRET_ENV_PREFIX = env.str("IMPRIMATUR_SECRET_ENV_PREFIX", default="IMPRIMATUR_KEY_")
IMPRIMATUR_SECRET_ENV_ALLOWLIST = env.list("IMPRIMATUR_SECRET_ENV_ALLOWLIST", default=[])
IMPRIMATUR_ALLOW_HTTP_ENDPOINTS = env.bool("IMPRIMATUR_ALLOW_HTTP_ENDPOINTS", default=False)
IMPRIMATUR_PROVIDER_TIMEOUT_SECONDS = env.float("IMPRIMATUR_PROVIDER_TIMEOUT_SECONDS", default=120.0)
IMPRIMATUR_PROVIDER_MAX_RETRIES = env.int("IMPRIMATUR_PROVIDER_MAX_RETRIES", default=4)
# A deployment's circuit breaker (studio.generation.services.breaker): open after this many failed calls in a
# row, then pause new calls for the cool-down before one probe call is let through.
IMPRIMATUR_BREAKER_THRESHOLD = env.int("IMPRIMATUR_BREAKER_THRESHOLD", default=5)
IMPRIMATUR_BREAKER_COOL_DOWN_SECONDS = env.float("IMPRIMATUR_BREAKER_COOL_DOWN_SECONDS", default=60.0)
# The per-deployment limiter (studio.generation.limiter): Redis at this URL, else the cache's or the
# broker's Redis, else the database. How long a call may wait for a slot before it is retried later.
IMPRIMATUR_LIMITER_URL = env.str("IMPRIMATUR_LIMITER_URL", default="")
IMPRIMATUR_LIMITER_MAX_WAIT_SECONDS = env.float("IMPRIMATUR_LIMITER_MAX_WAIT_SECONDS", default=600.0)

# --- Content safety. Local rules always run; hosted screeners switch on when configured.
AZURE_CONTENT_SAFETY_ENDPOINT = env.str("AZURE_CONTENT_SAFETY_ENDPOINT", default="")
AZURE_CONTENT_SAFETY_KEY_ENV = "AZURE_CONTENT_SAFETY_KEY"
OPENAI_MODERATION_BASE_URL = env.str("OPENAI_MODERATION_BASE_URL", default="")
OPENAI_MODERATION_KEY_ENV = "OPENAI_API_KEY"
IMPRIMATUR_SAFETY_TIMEOUT_SECONDS = env.float("IMPRIMATUR_SAFETY_TIMEOUT_SECONDS", default=10.0)

# --- Webhooks (approvals.webhooks): endpoints must be https and resolve to public addresses only (SSRF);
# local URLs (http, 127.0.0.1, private networks) only where this is on: development and tests.
IMPRIMATUR_WEBHOOK_ALLOW_LOCAL_URLS = env.bool("IMPRIMATUR_WEBHOOK_ALLOW_LOCAL_URLS", default=False)
IMPRIMATUR_WEBHOOK_TIMEOUT_SECONDS = env.float("IMPRIMATUR_WEBHOOK_TIMEOUT_SECONDS", default=10.0)
IMPRIMATUR_WEBHOOK_DISABLE_AFTER_FAILURES = env.int("IMPRIMATUR_WEBHOOK_DISABLE_AFTER_FAILURES", default=15)

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="imprimatur@localhost")

# Shared cache (the API's per-key rate limits, the 404-probe counters of studio.security_middleware): Redis
# when CACHE_URL is set, so every worker counts together; else Django's per-process local memory, which
# production refuses (production.py falls back to a Redis broker's URL, or does not start).
if env.str("CACHE_URL", default=""):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": env.str("CACHE_URL")}}

# --- Delivery API (approvals.api): /api/v1/, API keys only (Authorization: Bearer imp_live_...), errors as
# RFC 9457 problem details, cursor pagination, per-key rate limits counted in the default cache.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["approvals.api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["approvals.api.permissions.KeyScopes"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["approvals.api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_key": env.str("IMPRIMATUR_API_RATE", default="600/min")},
    "DEFAULT_PAGINATION_CLASS": "approvals.api.pagination.ApiCursorPagination",
    "DEFAULT_SCHEMA_CLASS": "approvals.api.schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "approvals.api.problems.problem_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "URL_FORMAT_OVERRIDE": None,  # ?format= is the audit export's own parameter
    "COERCE_DECIMAL_TO_STRING": True,
}
IMPRIMATUR_API_MAX_BODY_BYTES = env.int("IMPRIMATUR_API_MAX_BODY_BYTES", default=1024 * 1024)
IMPRIMATUR_API_IDEMPOTENCY_HOURS = env.int("IMPRIMATUR_API_IDEMPOTENCY_HOURS", default=24)
SPECTACULAR_SETTINGS = {
    "TITLE": "Imprimatur delivery API",
    "DESCRIPTION": (
        "Campaigns, drafts, jobs, runs, variants, reviews, publications and the audit export of one workspace. "
        "Authenticate with `Authorization: Bearer <API key>`; a key acts as its user, with that user's roles."
    ),
    "VERSION": "1.0.0",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",  # self-hosted assets from drf-spectacular-sidecar: no CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One named enum per status vocabulary (without these, several "status" fields collide: a W001 warning).
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "studio.generation.models.JobStatus",
        "VariantStatusEnum": "studio.generation.models.VariantStatus",
        "ReviewStatusEnum": "approvals.reviews.models.ReviewStatus",
        "StageStatusEnum": "approvals.reviews.models.StageStatus",
        "RunStatusEnum": "studio.runs.models.RunStatus",
        "CellStatusEnum": "studio.runs.models.CellStatus",
        "PublicationStatusEnum": "approvals.publishing.models.PublicationStatus",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "approvals.api.schema.add_problem_responses",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # azure-core logs every request and response with its headers at INFO: noise, and a cost per upload
    "loggers": {"azure": {"level": "WARNING"}},
}

# --- Worker database connections (issue 11, production-run execution). Celery's Django fixup closes every
# connection before and after each task unless CELERY_DB_REUSE_MAX is set, so each cell of a run paid for a
# new PostgreSQL backend (a fork, a cold catalog cache, ~15 ms). With it, a worker thread keeps its connection
# across tasks; ``studio.celery`` still drops one that broke or is older than this many seconds, the rule
# Django applies between requests (web processes keep DATABASE_URL's own conn_max_age).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=500)
IMPRIMATUR_WORKER_CONN_MAX_AGE = env.int("IMPRIMATUR_WORKER_CONN_MAX_AGE", default=300)
