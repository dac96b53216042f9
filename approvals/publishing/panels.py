"""What publishing adds to the pages of the layers below it, registered in ``PublishingConfig.ready()``:
the "Publish" panel of the review page and the publications listed on the studio's variant page.
Each costs a fixed number of queries however many publications there are."""

from __future__ import annotations

from typing import Any

from approvals.publishing import selectors
from approvals.publishing.forms import PublishForm
from approvals.reviews.selectors import approved_review_for
from studio.core.permissions import can_publish
from studio.generation.models import VariantStatus

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
        "publish_form": PublishForm(formats=selectors.formats_for(variant=variant)) if publishable else None,
        "publications": list(selectors.publications_for(variant=variant)),
        "review_panels": [REVIEW_PANEL],
    }


def variant_publications_context(request: Any, variant: Any) -> dict[str, Any]:
    """The studio's variant page lists where the image was published."""
    return {"publications": variant.publications.select_related("target_format")}
