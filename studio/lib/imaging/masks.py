"""Masks for edits: what the painter sends, what "fix this" on a pinned comment makes, and their checks.

Masks follow the image API's contract: a PNG under 4 MB, exactly the size of the base image, where alpha 0
marks the area to change. Masks go through the same content checks as uploads (steps 1-6 of
``studio.lib.imaging.uploads``) before their alpha is read. See docs/edit-studio.md.
"""

from __future__ import annotations

import base64
import binascii
import io
import math

from django.conf import settings
from PIL import Image

from studio.lib.imaging.errors import UploadRejected, human_bytes
from studio.lib.imaging.formats import PNG
from studio.lib.imaging.uploads import inspect_image, open_verified
from studio.lib.sizing import MAX_EDGE_PX

MASK_MAX_BYTES = 4 * 1024 * 1024  # the image API wants masks strictly smaller than 4 MB
ALPHA_THRESHOLD = 128  # alpha below this counts as painted ("change here"); the API only honours alpha 0

MSG_MASK_NOTHING = "Paint the area you want to change first."
MSG_MASK_EVERYTHING = "The mask covers the whole image: use an instruction edit instead."


def validate_mask(data: bytes, *, width: int, height: int) -> bytes:
    """Check a mask for an edit of a ``width`` x ``height`` image; return normalized RGBA PNG bytes.

    The result is binary: alpha 0 where the image should change, 255 elsewhere (RGB black). Alpha below
    :data:`ALPHA_THRESHOLD` counts as painted, so soft brush edges are part of the painted area.

    Masks without an alpha channel: a ``tRNS`` transparent colour (palette or RGB) is honoured as alpha;
    otherwise the mask is read as a black-and-white matte, the common convention of other editing tools:
    **white (light) marks the area to change**, black keeps.
    """
    if not data:
        raise UploadRejected("The mask is empty. " + MSG_MASK_NOTHING, code="empty")
    if len(data) >= MASK_MAX_BYTES:
        raise UploadRejected(
            f"The mask file is {human_bytes(len(data))}; masks must be smaller than 4 MB.", code="too_big"
        )
    structure = inspect_image(
        data,
        max_bytes=MASK_MAX_BYTES - 1,
        max_pixels=int(settings.IMPRIMATUR_MAX_IMAGE_PIXELS),
        allowed=(PNG,),
        wrong_type=("The mask must be a PNG image", "this file looks like"),
    )
    if (structure.width, structure.height) != (width, height):
        raise UploadRejected(
            f"The mask is {structure.width}x{structure.height} pixels but the image is {width}x{height}; "
            "they must be the same size.",
            code="mask_size",
        )
    im = open_verified(data, structure)
    with im:
        alpha = _mask_alpha(im)
    return _mask_png(alpha)


def _mask_alpha(im: Image.Image) -> Image.Image:
    """Return an ``L`` image where 0 = change, 255 = keep (before thresholding)."""
    if im.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        return im.getchannel("A")
    if "transparency" in im.info:
        return im.convert("RGBA").getchannel("A")
    grey = im.convert("L")
    return grey.point([255 - v for v in range(256)])  # white = change -> alpha 0


def _mask_png(alpha: Image.Image) -> bytes:
    binary = alpha.point([0] * ALPHA_THRESHOLD + [255] * (256 - ALPHA_THRESHOLD))
    low, high = binary.getextrema()
    if low == 255:
        raise UploadRejected(MSG_MASK_NOTHING, code="mask_empty")
    if high == 0:
        raise UploadRejected(MSG_MASK_EVERYTHING, code="mask_everything")
    black = Image.new("L", binary.size, 0)
    mask = Image.merge("RGBA", (black, black, black, binary))
    buf = io.BytesIO()
    mask.save(buf, format="PNG", optimize=True)
    out = buf.getvalue()
    if len(out) >= MASK_MAX_BYTES:
        raise UploadRejected(
            "The painted area is too detailed to send (the mask would be over 4 MB). Paint simpler shapes.",
            code="too_big",
        )
    return out


def mask_from_box(*, width: int, height: int, box: tuple[float, float, float, float]) -> bytes:
    """A mask (alpha 0 inside ``box``) for "fix this" on a region-pinned review comment.

    ``box`` is ``(x, y, w, h)`` in 0..1 image coordinates, exactly as ``approvals.Comment`` stores it.
    Any pixel the box touches is included (floor of the start, ceiling of the end), so a thin box still
    marks at least one pixel; the part of the box outside the image is clipped.
    """
    if not (0 < width <= MAX_EDGE_PX and 0 < height <= MAX_EDGE_PX):
        raise UploadRejected("The image size is not valid for a mask.", code="mask_size")
    x, y, w, h = (float(v) for v in box)
    if not all(math.isfinite(v) for v in (x, y, w, h)) or w <= 0 or h <= 0:
        raise UploadRejected("The marked area has no size. Draw a box around what should change.", code="bad_box")
    left, top = max(0.0, x), max(0.0, y)
    right, bottom = min(1.0, x + w), min(1.0, y + h)
    if left >= 1.0 or top >= 1.0 or right <= 0.0 or bottom <= 0.0 or right <= left or bottom <= top:
        raise UploadRejected("The marked area is outside the image.", code="bad_box")
    eps = 1e-9  # 0.2 + 0.4 is 0.6000000000000001 in floats: do not let that spill into the next pixel
    px0, py0 = min(width - 1, math.floor(left * width + eps)), min(height - 1, math.floor(top * height + eps))
    px1, py1 = max(px0 + 1, math.ceil(right * width - eps)), max(py0 + 1, math.ceil(bottom * height - eps))
    px1, py1 = min(width, px1), min(height, py1)
    alpha = Image.new("L", (width, height), 255)
    alpha.paste(0, (px0, py0, px1, py1))
    if (px0, py0, px1, py1) == (0, 0, width, height):
        raise UploadRejected(MSG_MASK_EVERYTHING, code="mask_everything")
    return _mask_png(alpha)


def decode_data_url(value: str, *, max_bytes: int, media_types: tuple[str, ...] = (PNG.mime,)) -> bytes:
    """Decode the painter's hidden input (``data:image/png;base64,...``), refusing oversize data *before*
    decoding it. Raises :class:`UploadRejected`; an empty value means nothing was painted."""
    value = (value or "").strip()
    if not value:
        raise UploadRejected(MSG_MASK_NOTHING, code="empty")
    if not value[:5].lower() == "data:" or "," not in value:
        raise UploadRejected("The mask could not be read: it was not sent as an image.", code="not_data_url")
    header, _, payload = value[5:].partition(",")
    parts = [p.strip().lower() for p in header.split(";")]
    media_type, params = parts[0], parts[1:]
    if media_type not in media_types:
        wanted = " or ".join(t.split("/")[1].upper() for t in media_types)
        raise UploadRejected(f"The mask must be a {wanted} image.", code="wrong_type")
    if "base64" not in params:
        raise UploadRejected("The mask could not be read: the data is not encoded as expected.", code="not_base64")
    if len(payload) > (max_bytes + 2) // 3 * 4 + 4:
        raise UploadRejected(
            f"The mask is too large (over {human_bytes(max_bytes)}). Paint simpler shapes.", code="too_big"
        )
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UploadRejected("The mask could not be read: the data is damaged.", code="not_base64") from exc
    if not raw:
        raise UploadRejected(MSG_MASK_NOTHING, code="empty")
    if len(raw) > max_bytes:
        raise UploadRejected(
            f"The mask is too large (over {human_bytes(max_bytes)}). Paint simpler shapes.", code="too_big"
        )
    return raw
