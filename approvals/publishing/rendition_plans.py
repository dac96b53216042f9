"""How an approved variant reaches a format's exact pixels, planned from sizes alone (no Pillow), so the
publish form can show each format's crop and safe zone, and the service refuses a format the image was
not composed for before anything is enqueued. ``studio.lib.imaging.renditions`` holds the rules."""

from __future__ import annotations

from studio.generation.models import CampaignFormat, Variant
from studio.lib.imaging import RenditionPlan, plan_rendition


def variant_focal(variant: Variant) -> tuple[float | None, float | None]:
    """The marketer's focal point (fractions), None for an axis left at the centre."""
    return (variant.focal_x, variant.focal_y)


def rendition_plan_for(*, variant: Variant, target_format: CampaignFormat) -> RenditionPlan:
    """The plan for ``variant`` (its real stored size) in ``target_format``; ``plan.refusal`` says why not."""
    return plan_rendition(
        source_width=variant.width,
        source_height=variant.height,
        target_width=target_format.width,
        target_height=target_format.height,
        focal=variant_focal(variant),
        target_name=target_format.name,
    )
