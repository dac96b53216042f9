"""Test settings. Unit tests run on in-memory SQLite with eager Celery; the integration and browser
runs override DATABASE_URL / CELERY_BROKER_URL from the Makefile to reach the real services."""

from studio.settings.base import *  # noqa: F403
from studio.settings.base import STORAGES, env

SECRET_KEY = "test-only-secret-key-not-for-production-use-0123456789abcdef"  # noqa: S105
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
IMPRIMATUR_PROVIDER_MAX_RETRIES = 3
IMPRIMATUR_ALLOW_HTTP_ENDPOINTS = True  # mock image servers on http://127.0.0.1
IMPRIMATUR_WEBHOOK_ALLOW_LOCAL_URLS = True  # the test receiver on http://127.0.0.1
