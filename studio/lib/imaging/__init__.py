"""Image handling, by content and with bounded work, for everything the product reads, stores or sends.

- ``formats``: the one table of image formats (name, MIME type, magic bytes, Pillow name, extension) and
  sniffing by content.
- ``structure``: walking PNG / JPEG / WebP files without decoding pixels (declared size, polyglots).
- ``uploads``: sanitising an uploaded image (checks, decode, sRGB, re-encode without metadata).
- ``masks``: edit masks (validation, ``mask_from_box`` for pinned comments, the painter's data URL).
- ``renditions``: exact-size crops around a focal point.
- ``screening``: a faithful downscale the hosted safety screeners accept.
- ``errors``: :class:`UploadRejected` and the sentences the checks share.

The longest edge anywhere is ``studio.lib.sizing.MAX_EDGE_PX``.
"""

from __future__ import annotations

from studio.lib.imaging.errors import MSG_DAMAGED, UploadRejected
from studio.lib.imaging.formats import FORMATS, STORED, ImageFormat, by_name, by_pillow, sniff
from studio.lib.imaging.masks import MASK_MAX_BYTES, decode_data_url, mask_from_box, validate_mask
from studio.lib.imaging.renditions import (
    ASPECT_TOLERANCE,
    RenditionPlan,
    RenditionRefused,
    channel_rendition,
    make_rendition,
    plan_rendition,
    safe_zone_for,
)
from studio.lib.imaging.screening import UnreadableImage, image_prepare
from studio.lib.imaging.uploads import CleanImage, validate_image_upload, validate_uploaded_file

__all__ = [
    "ASPECT_TOLERANCE",
    "FORMATS",
    "MASK_MAX_BYTES",
    "MSG_DAMAGED",
    "STORED",
    "CleanImage",
    "RenditionPlan",
    "RenditionRefused",
    "ImageFormat",
    "UnreadableImage",
    "UploadRejected",
    "by_name",
    "by_pillow",
    "channel_rendition",
    "decode_data_url",
    "image_prepare",
    "make_rendition",
    "mask_from_box",
    "plan_rendition",
    "safe_zone_for",
    "sniff",
    "validate_image_upload",
    "validate_mask",
    "validate_uploaded_file",
]
