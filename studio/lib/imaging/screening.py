"""Make an image acceptable to the hosted screeners before upload (``image_prepare``).

Azure AI Content Safety takes 50x50 .. 2048x2048 pixels and at most 4 MB; generated images can be
3840x2160 PNGs well over that. Screening a faithful downscale is what Azure itself recommends, and it
keeps the upload small for OpenAI too.
"""

from __future__ import annotations

import io

from PIL import Image, ImageOps

from studio.lib.imaging.formats import FORMATS, JPEG, PNG, by_pillow

MAX_EDGE = 2048
MIN_EDGE = 50
MAX_BYTES = 4 * 1024 * 1024
SCREENABLE = FORMATS  # the screeners take every format in the table as it is


class UnreadableImage(ValueError):
    """The bytes are not an image Pillow can read."""


def image_prepare(
    data: bytes, *, max_edge: int = MAX_EDGE, min_edge: int = MIN_EDGE, max_bytes: int = MAX_BYTES
) -> tuple[bytes, str]:
    """Return ``(bytes, mime type)`` within the limits. Untouched when already acceptable."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            width, height, fmt = probe.width, probe.height, by_pillow(probe.format, SCREENABLE)
            within = (
                min_edge <= width <= max_edge
                and min_edge <= height <= max_edge
                and len(data) <= max_bytes
                and fmt is not None
            )
            if within:
                return data, fmt.mime
            img = ImageOps.exif_transpose(probe)
            img.load()
    except (OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise UnreadableImage("The image could not be read for the safety check.") from exc

    if img.width > max_edge or img.height > max_edge:
        img.thumbnail((max_edge, max_edge), Image.Resampling.LANCZOS)
    if img.width < min_edge or img.height < min_edge:
        scale = min_edge / min(img.width, img.height)
        img = img.resize(
            (
                min(max_edge, max(min_edge, round(img.width * scale))),
                min(max_edge, max(min_edge, round(img.height * scale))),
            ),
            Image.Resampling.LANCZOS,
        )
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    img = img.convert("RGBA" if has_alpha else "RGB")

    out = io.BytesIO()
    img.save(out, format="PNG")
    if out.tell() <= max_bytes:
        return out.getvalue(), PNG.mime
    if has_alpha:  # JPEG has no alpha: flatten on white, which is how the image shows on most pages
        background = Image.new("RGB", img.size, (255, 255, 255))
        background.paste(img, mask=img.getchannel("A"))
        img = background
    for quality in (90, 80, 70, 60):
        out = io.BytesIO()
        img.save(out, format="JPEG", quality=quality)
        if out.tell() <= max_bytes:
            return out.getvalue(), JPEG.mime
    while True:  # pathological noise: keep halving until it fits (never below the minimum edge)
        img = img.resize((max(min_edge, img.width // 2), max(min_edge, img.height // 2)), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        img.save(out, format="JPEG", quality=60)
        if out.tell() <= max_bytes or min(img.size) <= min_edge:
            return out.getvalue(), JPEG.mime
