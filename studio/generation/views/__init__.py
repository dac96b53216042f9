"""Studio pages: workspaces, campaigns, drafts, generation with live plan and progress, variants, edits.

Views parse input, call one selector or service and render; htmx requests get the template partial.
Split by page family; ``urls.py`` names them through this package.
"""

from studio.generation.views.browse import (
    campaign_detail,
    compare,
    draft_detail,
    draft_save,
    draft_tree,
    draft_version_diff,
    home,
    styleguide,
    workspace_detail,
)
from studio.generation.views.generate import generate, generate_preview, job_rerun, job_status
from studio.generation.views.media import variant_image, variant_thumbnail
from studio.generation.views.variants import variant_detail, variant_edit, variant_localise, variant_progress

__all__ = [
    "campaign_detail",
    "compare",
    "draft_detail",
    "draft_save",
    "draft_tree",
    "draft_version_diff",
    "generate",
    "generate_preview",
    "home",
    "job_rerun",
    "job_status",
    "styleguide",
    "variant_detail",
    "variant_edit",
    "variant_image",
    "variant_localise",
    "variant_progress",
    "variant_thumbnail",
    "workspace_detail",
]
