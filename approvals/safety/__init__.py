"""Content safety: local rules, Azure AI Content Safety and OpenAI moderation, combined by a
workspace policy into the verdict that decides the approval route (allow: brand review only; review:
brand, then compliance; block: cannot be submitted). Every screener's answer is kept as evidence.

Import the public API from here; modules are split by role (clients, policy, rules, services,
selectors, tasks).
"""

from .azure import AzureContentSafetyClient, blocklist_sync
from .local import local_screen
from .openai_moderation import OpenAIModerationClient
from .policy import PolicyConfigError, SafetyPolicy, policy_errors, policy_for
from .rulepacks import rules_sync
from .selectors import (
    assessments_for_variant,
    highlight_matches,
    safety_panel_context,
    variant_verdict,
)
from .services import (
    provider_filters_record,
    screen_image,
    screen_prompt,
    screening_record,
    variant_apply_screening,
    variant_rescreen,
)
from .types import ROUTE_WORDS, ScreenerResult, ScreenerUnavailable, Screening, strictest

__all__ = [
    "ROUTE_WORDS",
    "AzureContentSafetyClient",
    "OpenAIModerationClient",
    "PolicyConfigError",
    "SafetyPolicy",
    "ScreenerResult",
    "ScreenerUnavailable",
    "Screening",
    "assessments_for_variant",
    "blocklist_sync",
    "highlight_matches",
    "local_screen",
    "policy_errors",
    "policy_for",
    "provider_filters_record",
    "rules_sync",
    "safety_panel_context",
    "screen_image",
    "screen_prompt",
    "screening_record",
    "strictest",
    "variant_apply_screening",
    "variant_rescreen",
    "variant_verdict",
]
