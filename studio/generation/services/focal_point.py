"""The focal point of a variant: where its renditions trim around (``studio.lib.imaging.renditions``).

The image's content never changes (reviews stay bound to its sha256); the focal point is the
marketer's instruction to publishing, so changing it is audited like any other state change. Locks
follow the global order (campaign, then the variant; the audit chain head last, inside the event).
"""

from __future__ import annotations

import math

from django.db import transaction

from studio.core.errors import InvalidInput
from studio.core.permissions import RoleRequired, can_generate
from studio.generation import events
from studio.generation.locks import campaign_lock
from studio.generation.models import Variant


class InvalidFocalPoint(InvalidInput):
    code = "invalid_focal_point"


def _fraction(value, axis: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidFocalPoint(f"Give the {axis} position as a number from 0 to 100 (percent).") from exc
    if not math.isfinite(number) or not 0.0 <= number <= 1.0:
        raise InvalidFocalPoint(f"The {axis} position must be between 0% and 100% of the image.")
    return round(number, 4)


@transaction.atomic
def variant_focal_point_set(*, actor, variant: Variant, focal_x, focal_y) -> Variant:
    """Set (or with both None, reset to the centre) where renditions of ``variant`` trim around.

    ``focal_x`` / ``focal_y`` are fractions 0..1 of the width and height. Only people who make images
    (marketers, admins) may move it; an unchanged point writes nothing."""
    x, y = _fraction(focal_x, "across"), _fraction(focal_y, "down")
    if (x is None) != (y is None):
        raise InvalidFocalPoint("Give both positions (across and down), or neither to use the centre.")
    campaign_id = Variant.objects.filter(pk=variant.pk).values_list("draft__campaign_id", flat=True).get()
    campaign_lock(campaign_id)
    locked = Variant.objects.select_for_update(of=("self",), no_key=True).select_related("workspace").get(pk=variant.pk)
    if not can_generate(actor, locked.workspace):
        raise RoleRequired(f"Only a marketer or workspace admin can set the focal point in {locked.workspace.name}.")
    before = [locked.focal_x, locked.focal_y]
    if before == [x, y]:
        return locked
    locked.focal_x, locked.focal_y = x, y
    locked.save(update_fields=["focal_x", "focal_y"])
    events.variant_focal_point_set(variant=locked, actor=actor, before=before, after=[x, y])
    return locked
