"""What publishing adds to the pages of the layers below it, registered in ``PublishingConfig.ready()``:
the "Publish" panel of the review page and the publications listed on the studio's variant page.
Each costs a fixed number of queries however many publications there are."""

from __future__ import annotations

from typing import Any

from approvals.publishing import selectors
from approvals.publishing.forms import PublishForm
from approvals.publishing.rendition_plans import rendition_plan_for
from approvals.reviews.selectors import approved_review_for
from studio.core.permissions import can_publish
from studio.generation.models import CampaignFormat, Variant, VariantStatus
from studio.lib.imaging import RenditionPlan, safe_zone_for

REVIEW_PANEL = "publishing/partials/review_panel.html"


def review_publish_context(request: Any, review: Any) -> dict[str, Any]:
    """The review page's "Publish" panel: the publications so far, and the form when the image is
    approved as it is now and the user may publish."""
    variant = review.variant
    approved = approved_review_for(variant=variant)
    publishable = (
        variant.status in (VariantStatus.APPROVED, VariantStatus.PUBLISHED)
        and approved is not None
        and approved.variant_sha256 == variant.sha256
        and can_publish(request.user, review.workspace)
    )
    return {
        "publish_form": PublishForm(
            formats=selectors.formats_for(variant=variant),
            destinations=selectors.destinations_for(campaign_id=variant.draft.campaign_id),
        )
        if publishable
        else None,
        "publications": list(selectors.publications_for(variant=variant)),
        # Each format's crop and safe zone over the image, and the formats refused, before anything goes live.
        "rendition_previews": rendition_previews(variant, selectors.formats_for(variant=variant))
        if publishable
        else [],
        "review_panels": [REVIEW_PANEL],
    }


def variant_publications_context(request: Any, variant: Any) -> dict[str, Any]:
    """The studio's variant page lists where the image was published."""
    return {"publications": variant.publications.select_related("target_format")}


# --- rendition previews: the crop box and the channel's safe zone drawn over the source ------------------


class RenditionPreview:
    """What ``publishing/partials/rendition_preview.html`` draws as an SVG over the image (source pixels
    as the view box, so the geometry is the plan's own numbers; no inline styles under the CSP)."""

    def __init__(self, *, variant: Variant, target_format: CampaignFormat, plan: RenditionPlan) -> None:
        self.variant = variant
        self.target_format = target_format
        self.plan = plan
        left, top, right, bottom = plan.crop_box
        self.crop_x, self.crop_y, self.crop_w, self.crop_h = left, top, right - left, bottom - top
        zone = safe_zone_for(channel=target_format.channel, name=target_format.name)
        self.safe_label = zone.label
        self.safe_x = round(left + zone.left * self.crop_w, 1)
        self.safe_y = round(top + zone.top * self.crop_h, 1)
        self.safe_w = round(self.crop_w * (1 - zone.left - zone.right), 1)
        self.safe_h = round(self.crop_h * (1 - zone.top - zone.bottom), 1)
        # The dimmed area outside the crop: the whole image minus the crop (even-odd fill).
        w, h = variant.width, variant.height
        self.outside_path = f"M0 0H{w}V{h}H0Z M{left} {top}H{right}V{bottom}H{left}Z"
        self.has_focal = variant.focal_x is not None or variant.focal_y is not None
        self.focal_cx = round(plan.focal[0] * w, 1)
        self.focal_cy = round(plan.focal[1] * h, 1)
        self.marker_r = round(max(w, h) / 60, 1)

    @property
    def refused(self) -> bool:
        return not self.plan.ok


def rendition_previews(variant: Variant, formats) -> list[RenditionPreview]:
    """One preview per format (no queries beyond listing the formats), refused ones included."""
    return [
        RenditionPreview(
            variant=variant, target_format=fmt, plan=rendition_plan_for(variant=variant, target_format=fmt)
        )
        for fmt in formats
    ]
