"""Studio write services: drafts, job launch (with budget reservation), the job pipeline and edits.

Each service is keyword-only, takes ``actor`` when a person causes the change, runs in one transaction,
locks what it changes and writes its audit event (``studio.generation.events``) in that same
transaction. Network and Pillow work happen in ``job_execute`` (called from the Celery task), never
inside a web request. Modules by role:

- ``drafts``: drafts, versions, the composed prompt
- ``launch``: launch checks, size plan, estimate, the one job builder (launch and re-run)
- ``budget``: reserve and settle a campaign's budget
- ``execution``: running a job (claim / call / store / record), and the CLI's in-process runs
- ``failures``: a job's endings without images (blocked prompt, provider errors, giving up)
- ``variants``: edits and localisations of an image
- ``storage``: content-addressed files and thumbnails
- ``workspace_settings``, ``deployments``: configuration changes with their audit events

``from studio.generation import services; services.job_launch(...)`` is the public way in.
"""

from studio.generation.errors import BudgetExceeded, JobRetry, StudioError
from studio.generation.services.admin_changes import campaign_change_record, membership_change_record
from studio.generation.services.budget import budget_reserve, budget_settle, budget_settle_recorded
from studio.generation.services.deployments import DeploymentUpsert, deployment_upsert
from studio.generation.services.drafts import (
    TEMPLATE_VARIABLE,
    draft_create,
    draft_version_add,
    missing_variables,
    prompt_compose,
)
from studio.generation.services.execution import (
    ProviderFactory,
    job_execute,
    job_run_inline,
    variant_screen_inline,
)
from studio.generation.services.failures import job_give_up
from studio.generation.services.launch import (
    JobInputs,
    LaunchPreview,
    LaunchRequest,
    job_launch,
    job_rerun,
    launch_preview,
)
from studio.generation.services.storage import THUMBNAIL_EDGE, image_store, thumbnail_make
from studio.generation.services.variants import LOCALISE_INSTRUCTION, variant_edit, variant_localise
from studio.generation.services.workspace_settings import SAFETY_SETTING_FIELDS, workspace_settings_changed

__all__ = [
    "campaign_change_record",
    "membership_change_record",
    "LOCALISE_INSTRUCTION",
    "SAFETY_SETTING_FIELDS",
    "TEMPLATE_VARIABLE",
    "THUMBNAIL_EDGE",
    "BudgetExceeded",
    "DeploymentUpsert",
    "JobInputs",
    "JobRetry",
    "LaunchPreview",
    "LaunchRequest",
    "ProviderFactory",
    "StudioError",
    "budget_reserve",
    "budget_settle",
    "budget_settle_recorded",
    "deployment_upsert",
    "draft_create",
    "draft_version_add",
    "image_store",
    "job_execute",
    "job_give_up",
    "job_launch",
    "job_rerun",
    "job_run_inline",
    "launch_preview",
    "missing_variables",
    "prompt_compose",
    "thumbnail_make",
    "variant_edit",
    "variant_localise",
    "variant_screen_inline",
    "workspace_settings_changed",
]
