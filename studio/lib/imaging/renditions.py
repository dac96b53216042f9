"""Exact-size renditions of an approved image: crop around a focal point, then resize, never stretch."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image, ImageOps

from studio.lib.imaging.formats import JPEG, STORED, WEBP, by_name
from studio.lib.sizing import SizeError, check_target


def make_rendition(
    *, source: bytes, width: int, height: int, focal: tuple[float, float] = (0.5, 0.5), output_format: str = "png"
) -> bytes:
    """Crop ``source`` around ``focal`` (fractions of width/height) to the target aspect, then resize with
    LANCZOS to exactly ``width`` x ``height``. Cropping first means nothing is ever stretched."""
    check_target(width, height)
    fmt = by_name(output_format, STORED)
    if fmt is None:
        raise SizeError(f"Cannot save a rendition as {output_format!r}: choose png, jpeg or webp.")
    fx = min(max(float(focal[0]), 0.0), 1.0)
    fy = min(max(float(focal[1]), 0.0), 1.0)
    with Image.open(io.BytesIO(source)) as img:
        img.load()
        mode = "RGB" if fmt is JPEG or img.mode not in ("RGBA", "LA", "P") else "RGBA"
        fitted = ImageOps.fit(img.convert(mode), (width, height), method=Image.Resampling.LANCZOS, centering=(fx, fy))
    out = io.BytesIO()
    options: dict[str, Any] = {"quality": 90} if fmt in (JPEG, WEBP) else {"optimize": False}
    fitted.save(out, format=fmt.pillow, **options)
    return out.getvalue()
