"""Per-key rate limits, counted in the default cache (Redis in production, so every web worker counts
together). Over the limit: 429 with ``Retry-After`` (``approvals.api.problems``)."""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from approvals.api.models import ApiKey


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api_key"
    cache_format = "imprimatur:api-throttle:%(scope)s:%(ident)s"

    def get_rate(self):
        # Read at each request, not once at import as DRF does, so a changed setting takes effect.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view):
        key = request.auth
        if not isinstance(key, ApiKey):
            return None  # unauthenticated requests are refused (401) before they cost anything
        return self.cache_format % {"scope": self.scope, "ident": key.pk}
