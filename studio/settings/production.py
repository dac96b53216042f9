"""Production: secrets and hosts must come from the environment; HTTPS everywhere."""

from django.core.exceptions import ImproperlyConfigured

from studio.settings.base import *  # noqa: F403
from studio.settings.base import CELERY_BROKER_URL, env

DEBUG = False
SECRET_KEY = env.str("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# The API's per-key rate limits and the 404-probe counters are counted in the default cache. Django's local
# memory would count per process: with N web workers every key would get N times its limit. So production
# shares a Redis: CACHE_URL (base.py), else the Celery broker's when that is Redis, else it does not start.
if not env.str("CACHE_URL", default=""):
    if not CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        raise ImproperlyConfigured(
            "Set CACHE_URL to a Redis URL (for example redis://127.0.0.1:6379/1). The API's per-key rate limits "
            "are counted in this cache; without a shared one each web process would count on its own and let "
            "every key through several times its limit."
        )
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CELERY_BROKER_URL}}
