"""Pictures for the offline renderer: seeded palettes and shapes, and the visible effect of an edit.

Everything is deterministic from its seed parts, so the same request always draws the same image.
"""

from __future__ import annotations

import hashlib
import io
import math
import random
from typing import Any

from PIL import Image, ImageDraw, ImageOps

from studio.lib.imaging.formats import JPEG, PNG, STORED, by_name
from studio.lib.providers.base import ErrorKind, ProviderError
from studio.lib.providers.offline.fonts import script_of
from studio.lib.providers.offline.text import draw_caption, draw_copy, fit_text, shade, text_block

PALETTES = (
    ((255, 127, 80), (0, 95, 115), (233, 216, 166), (238, 155, 0)),
    ((38, 70, 83), (42, 157, 143), (233, 196, 106), (231, 111, 81)),
    ((61, 64, 91), (129, 178, 154), (242, 204, 143), (224, 122, 95)),
    ((20, 33, 61), (252, 163, 17), (229, 229, 229), (255, 255, 255)),
    ((106, 76, 147), (25, 130, 196), (138, 201, 38), (255, 202, 58)),
    ((0, 48, 73), (214, 40, 40), (247, 127, 0), (252, 191, 73)),
)


def seeded_rng(*parts: Any) -> random.Random:
    digest = hashlib.sha256("\x00".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def background(width: int, height: int, rng: random.Random, palette, transparent: bool) -> Image.Image:
    if transparent:
        return Image.new("RGBA", (width, height), (0, 0, 0, 0))
    gradient = Image.linear_gradient("L")
    gradient = gradient.transpose(
        rng.choice(
            [
                Image.Transpose.ROTATE_90,
                Image.Transpose.ROTATE_180,
                Image.Transpose.ROTATE_270,
                Image.Transpose.FLIP_LEFT_RIGHT,
            ]
        )
    )
    gradient = gradient.resize((width, height), Image.Resampling.BILINEAR)
    first, second = rng.sample(list(palette), 2)
    return ImageOps.colorize(gradient, first, second)


def shapes(img: Image.Image, rng: random.Random, palette) -> None:
    draw = ImageDraw.Draw(img)
    w, h = img.size
    unit = min(w, h)
    for _ in range(rng.randint(4, 7)):
        colour = rng.choice(palette) + ((255,) if img.mode == "RGBA" else ())
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        r = rng.uniform(0.08, 0.28) * unit
        kind = rng.choice(("circle", "ring", "rect", "triangle"))
        if kind == "circle":
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
        elif kind == "ring":
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=colour, width=max(2, int(r / 5)))
        elif kind == "rect":
            draw.rounded_rectangle((cx - r, cy - r * 0.6, cx + r, cy + r * 0.6), radius=int(r / 4), fill=colour)
        else:
            angle = rng.uniform(0, math.tau)
            points = [
                (cx + r * math.cos(angle + k * math.tau / 3), cy + r * math.sin(angle + k * math.tau / 3))
                for k in range(3)
            ]
            draw.polygon(points, fill=colour)


def encode(img: Image.Image, output_format: str, compression: int | None) -> tuple[bytes, str]:
    """``(bytes, format name)`` of ``img`` saved as ``output_format`` (PNG when it is none we store)."""
    fmt = by_name(output_format, STORED) or PNG
    if fmt is JPEG and img.mode != "RGB":
        img = img.convert("RGB")
    out = io.BytesIO()
    if fmt is PNG:
        img.save(out, format=fmt.pillow, compress_level=1)
    elif fmt is JPEG:
        img.save(out, format=fmt.pillow, quality=compression if compression is not None else 90)
    else:
        img.save(out, format=fmt.pillow, quality=compression if compression is not None else 85, method=0)
    return out.getvalue(), fmt.name


def open_image(data: bytes, what: str) -> Image.Image:
    """``data`` decoded, or ``ProviderError(FATAL)`` naming ``what`` could not be read."""
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ProviderError(f"The {what} is not a readable image.", kind=ErrorKind.FATAL, code="bad_input") from exc
    return img


def mask_region(mask_bytes: bytes, base: Image.Image, size: tuple[int, int]) -> Image.Image:
    """L image, 255 where the mask's alpha is 0 (the area to change), fitted like the base."""
    mask = open_image(mask_bytes, "mask")
    if mask.size != base.size:
        raise ProviderError(
            f"The mask is {mask.width}x{mask.height} but the image is {base.width}x{base.height}; they must "
            "be the same size.",
            kind=ErrorKind.FATAL,
            code="mask_size_mismatch",
        )
    alpha = mask.getchannel("A") if "A" in mask.getbands() else mask.convert("L")
    region = alpha.point(lambda a: 255 if a == 0 else 0)
    return ImageOps.fit(region, size, method=Image.Resampling.NEAREST)


def edit_masked(base: Image.Image, region: Image.Image, tint, instruction: str) -> Image.Image:
    """Change only ``region`` (255 = change): tint and stripe it, and write the instruction inside."""
    bbox = region.getbbox()
    if bbox is None:  # nothing marked for change: the image stays as it is
        return base.copy()
    changed = Image.blend(base, Image.new("RGB", base.size, tint), 0.55)
    draw = ImageDraw.Draw(changed)
    left, top, right, bottom = bbox
    step = max(8, int(min(base.size) / 24))
    stripe = tuple(min(255, c + 60) for c in tint)
    for offset in range(left - (bottom - top), right, step):
        draw.line((offset, bottom, offset + (bottom - top), top), fill=stripe, width=max(2, step // 4))
    text = instruction
    script = script_of(text)
    box_w, box_h = right - left, bottom - top
    if box_w > 24 and box_h > 16:
        font, lines = fit_text(
            text,
            script,
            "",
            max_width=box_w * 0.9,
            max_height=box_h * 0.9,
            start=max(10, int(min(box_w, box_h) / 5)),
            minimum=9,
            max_lines=6,
        )
        shade(changed, (left, top, right, bottom), opacity=0.35)
        text_block(ImageDraw.Draw(changed), lines, font, box=bbox, fill=(255, 255, 255))
    return Image.composite(changed, base, region)


def edit_whole(
    base: Image.Image, tint, instruction: str, parts: dict[str, str], references: list[Image.Image]
) -> Image.Image:
    """Change the whole image: tint it, caption the instruction, and show the reference images as thumbnails."""
    out = Image.blend(base, Image.new("RGB", base.size, tint), 0.3)
    out = ImageOps.autocontrast(out, cutoff=1)
    if parts["copy"]:
        draw_copy(out, parts["copy"], parts["locale"])
    draw_caption(out, f"Edit: {instruction}", top_fraction=0.82, bottom_fraction=1.0, max_lines=3, opacity=0.7)
    w, h = out.size
    thumb_edge = max(16, int(h * 0.14))
    x = w - thumb_edge - int(w * 0.02)
    for ref in references[:4]:
        thumb = ImageOps.fit(ref.convert("RGB"), (thumb_edge, thumb_edge), method=Image.Resampling.BILINEAR)
        out.paste(thumb, (x, int(h * 0.02)))
        x -= thumb_edge + int(w * 0.01)
    return out
