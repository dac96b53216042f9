"""What publishing adds to the pages of the layers below it, registered in ``PublishingConfig.ready()``:
the "Publish" panel of the review page and the publications listed on the studio's variant page; and
the context of publishing's own publish page (``publish_views.variant_publish``), which shares the panel's.
Each costs a fixed number of queries however many publications there are."""

from __future__ import annotations

from typing import Any

from approvals.publishing import selectors
from approvals.publishing.forms import PublishForm
from approvals.publishing.rendition_plans import rendition_plan_for
from approvals.reviews.selectors import approved_review_for, approving_decisions
from studio.core.permissions import can_publish
from studio.generation.models import CampaignFormat, Variant, VariantStatus
from studio.lib.imaging import RenditionPlan, safe_zone_for

REVIEW_PANEL = "publishing/partials/review_panel.html"


def publish_parts(user: Any, variant: Variant, *, form: PublishForm | None = None) -> dict[str, Any]:
    """What the review page's panel and the studio's publish page both show: the publications so far,
    and, when the image is approved as it is now and the user may publish, the destination and format
    form with each format's rendition preview. ``publish_blocked`` says in words why there is no form."""
    approved = approved_review_for(variant=variant)
    blocked = publish_blocker(user, variant, approved)
    formats = selectors.formats_for(variant=variant)
    if not blocked and form is None:
        form = PublishForm(
            formats=formats, destinations=selectors.destinations_for(campaign_id=variant.draft.campaign_id)
        )
    return {
        "publish_form": None if blocked else form,
        "publish_blocked": blocked,
        "approved_review": approved,
        "publications": list(selectors.publications_for(variant=variant)),
        # Each format's crop and safe zone over the image, and the formats refused, before anything goes live.
        "rendition_previews": [] if blocked else rendition_previews(variant, formats),
    }


def publish_blocker(user: Any, variant: Variant, approved: Any) -> str:
    """Why ``user`` cannot publish ``variant`` in any format now, in words; "" when they can (the
    per-format refusals are the previews' and the service's, ``services.publication_check``)."""
    if not can_publish(user, variant.workspace):
        return f"Only a marketer, brand reviewer or admin can publish images in {variant.workspace.name}."
    if variant.status not in (VariantStatus.APPROVED, VariantStatus.PUBLISHED) or approved is None:
        return "Only approved images can be published: submit this one for review first."
    if approved.variant_sha256 != variant.sha256:
        return "This image changed after it was approved, so it cannot be published."
    return ""


def review_publish_context(request: Any, review: Any) -> dict[str, Any]:
    """The review page's "Publish" panel: the publications so far, and the form when the image is
    approved as it is now and the user may publish."""
    parts = publish_parts(request.user, review.variant)
    return {
        "publish_form": parts["publish_form"],
        "publications": parts["publications"],
        "rendition_previews": parts["rendition_previews"],
        "review_panels": [REVIEW_PANEL],
    }


def variant_publish_context(user: Any, variant: Variant, *, form: PublishForm | None = None) -> dict[str, Any]:
    """The studio's publish page: ``publish_parts`` plus whose approval it publishes under."""
    parts = publish_parts(user, variant, form=form)
    approved = parts["approved_review"]
    return {
        **parts,
        "workspace": variant.workspace,
        "variant": variant,
        "approvals": approving_decisions(review=approved) if approved is not None else [],
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
