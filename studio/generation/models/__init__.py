"""Studio domain: campaigns, drafts, deployments, generation jobs and variants.

Models carry their invariants (choices, check and unique constraints, ``clean``); every state change
goes through a service in ``studio.generation.services`` (variant status through ``lifecycle``), which
also writes the audit event. Split by role; import from here.
"""

from studio.generation.models.campaigns import (
    MAX_EDGE_PX,
    Campaign,
    CampaignFormat,
    DraftVersion,
    PromptDraft,
    PromptTemplate,
)
from studio.generation.models.deployments import (
    ENV_VAR_VALIDATOR,
    AuthMode,
    AzureSurface,
    CapabilityProfile,
    Deployment,
    PriceTable,
    ProviderKind,
    SizeMode,
)
from studio.generation.models.jobs import JOB_TERMINAL, GenerationJob, JobStatus, Operation
from studio.generation.models.variants import Variant, VariantStatus

__all__ = [
    "ENV_VAR_VALIDATOR",
    "JOB_TERMINAL",
    "MAX_EDGE_PX",
    "AuthMode",
    "AzureSurface",
    "Campaign",
    "CampaignFormat",
    "CapabilityProfile",
    "Deployment",
    "DraftVersion",
    "GenerationJob",
    "JobStatus",
    "Operation",
    "PriceTable",
    "PromptDraft",
    "PromptTemplate",
    "ProviderKind",
    "SizeMode",
    "Variant",
    "VariantStatus",
]
