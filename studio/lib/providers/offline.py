"""The offline renderer: a provider that needs no network, no key and no money.

It exists so the whole pipeline (planning, budgets, safety, review, renditions) runs on a fresh clone and
in tests. Every image is deterministic from (prompt, size, seed, index), drawn at EXACTLY the requested
size, and recognisable: a composition derived from the prompt's hash, the prompt text itself, and the
locale copy (the studio's ``In-image text (LOCALE): "COPY"`` line) set large in a font that covers its
script. Edits visibly follow the instruction: inside the mask only when there is one, across the whole
image otherwise. Usage is reported in the hosted APIs' shape so cost code runs end to end.
"""

from __future__ import annotations

import functools
import hashlib
import io
import math
import random
import re
import time
import unicodedata
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont, ImageOps, features

from studio.lib.providers.base import (
    EditRequest,
    ErrorKind,
    GeneratedImage,
    GenerationRequest,
    ProviderError,
    ProviderResult,
    Usage,
)

FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts")
# Script -> font file names to look for (first found wins). Noto Sans CJK is one collection per weight.
SCRIPT_FONTS: dict[str, tuple[str, ...]] = {
    "Latin": ("NotoSans-Regular.ttf", "DejaVuSans.ttf", "LiberationSans-Regular.ttf"),
    "CJK": ("NotoSansCJK-Regular.ttc", "NotoSerifCJK-Regular.ttc"),
    "Devanagari": ("NotoSansDevanagari-Regular.ttf",),
    "Bengali": ("NotoSansBengali-Regular.ttf",),
    "Tamil": ("NotoSansTamil-Regular.ttf",),
    "Telugu": ("NotoSansTelugu-Regular.ttf",),
    "Kannada": ("NotoSansKannada-Regular.ttf",),
    "Malayalam": ("NotoSansMalayalam-Regular.ttf",),
    "Gujarati": ("NotoSansGujarati-Regular.ttf",),
    "Gurmukhi": ("NotoSansGurmukhi-Regular.ttf",),
    "Thai": ("NotoSansThai-Regular.ttf",),
    "Arabic": ("NotoSansArabic-Regular.ttf", "NotoNaskhArabic-Regular.ttf"),
    "Hebrew": ("NotoSansHebrew-Regular.ttf",),
}
SCRIPT_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0590, 0x05FF, "Hebrew"),
    (0x0600, 0x06FF, "Arabic"),
    (0x0900, 0x097F, "Devanagari"),
    (0x0980, 0x09FF, "Bengali"),
    (0x0A00, 0x0A7F, "Gurmukhi"),
    (0x0A80, 0x0AFF, "Gujarati"),
    (0x0B80, 0x0BFF, "Tamil"),
    (0x0C00, 0x0C7F, "Telugu"),
    (0x0C80, 0x0CFF, "Kannada"),
    (0x0D00, 0x0D7F, "Malayalam"),
    (0x0E00, 0x0E7F, "Thai"),
    (0x1100, 0x11FF, "CJK"),
    (0x3000, 0x30FF, "CJK"),
    (0x3130, 0x318F, "CJK"),
    (0x3400, 0x9FFF, "CJK"),
    (0xAC00, 0xD7AF, "CJK"),
    (0xF900, 0xFAFF, "CJK"),
    (0xFF00, 0xFFEF, "CJK"),
)
CJK_INDEX = {"ja": 0, "ko": 1, "zh-cn": 2, "zh-hans": 2, "zh": 2, "zh-tw": 3, "zh-hant": 3, "zh-hk": 4}
COPY_LINE = re.compile(r'^In-image text \(([^)]*)\):\s*"(.*)"\s*$', re.MULTILINE)
EDIT_LINE = re.compile(r"^Edit:\s*(.+)$", re.MULTILINE | re.DOTALL)
# Output image tokens per 1024x1024-equivalent by quality (gpt-image-1's published counts).
OUTPUT_TOKENS = {"low": 272, "medium": 1056, "high": 4160, "auto": 1056, "xhigh": 8320, "max": 16640}
SAVE_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
PALETTES = (
    ((255, 127, 80), (0, 95, 115), (233, 216, 166), (238, 155, 0)),
    ((38, 70, 83), (42, 157, 143), (233, 196, 106), (231, 111, 81)),
    ((61, 64, 91), (129, 178, 154), (242, 204, 143), (224, 122, 95)),
    ((20, 33, 61), (252, 163, 17), (229, 229, 229), (255, 255, 255)),
    ((106, 76, 147), (25, 130, 196), (138, 201, 38), (255, 202, 58)),
    ((0, 48, 73), (214, 40, 40), (247, 127, 0), (252, 191, 73)),
)


# --- fonts ------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _find_font_file(name: str) -> str | None:
    for base in FONT_DIRS:
        if base.is_dir():
            for path in base.rglob(name):
                return str(path)
    return None


def _script_font_file(script: str) -> str | None:
    for name in SCRIPT_FONTS.get(script, ()):
        if found := _find_font_file(name):
            return found
    return None


def script_of(text: str) -> str:
    """The first non-Latin script in ``text`` ("Latin" when there is none)."""
    for ch in text:
        cp = ord(ch)
        if cp < 0x0590:
            continue
        for low, high, script in SCRIPT_RANGES:
            if low <= cp <= high:
                return script
    return "Latin"


@functools.lru_cache(maxsize=128)
def _font(script: str, size: int, locale: str = "") -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = _script_font_file(script)
    if path is None and script != "Latin":
        path = None  # no font for this script: Pillow's default draws what it can
    if path:
        index = (
            CJK_INDEX.get(locale.lower(), CJK_INDEX.get(locale.lower().split("-")[0], 0))
            if path.endswith(".ttc")
            else 0
        )
        try:
            return ImageFont.truetype(path, size=size, index=index)
        except OSError:
            pass
    return ImageFont.load_default(size=size)


def offline_missing_scripts() -> list[str]:
    return [script for script in SCRIPT_FONTS if _script_font_file(script) is None]


def offline_font_coverage() -> str:
    """Plain words on which scripts the offline renderer can draw, for the UI to show."""
    missing = offline_missing_scripts()
    shaping = features.check("raqm")
    if not missing:
        text = "The offline renderer has fonts for Latin, CJK and Indic scripts (and Thai, Arabic, Hebrew)."
    elif "Latin" in missing and len(missing) == len(SCRIPT_FONTS):
        text = (
            "No fonts were found on this server: offline previews use Pillow's small built-in font, and text in "
            "non-Latin scripts shows as boxes. Install fonts-noto-core and fonts-noto-cjk."
        )
    else:
        text = (
            f"Offline previews cannot draw {', '.join(missing)} text on this server (it shows as boxes); "
            "install fonts-noto-core and fonts-noto-cjk."
        )
    if not shaping:
        text += " Complex scripts such as Devanagari are drawn without proper shaping (libraqm is missing)."
    return text


# --- text layout ------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"[\u1100-\u11ff\u3000-\u30ff\u3130-\u318f\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]|\S+\s*|\s+"
)


def _wrap(text: str, font, max_width: float, max_lines: int) -> list[str]:
    """Greedy wrap by words (by character for CJK, which has no spaces); ends with "…" when cut short."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for token in _TOKEN.findall(paragraph):
            trial = line + token
            if font.getlength(trial.rstrip()) <= max_width or not line.strip():
                if font.getlength(trial.rstrip()) > max_width:  # one word wider than the line: break it
                    for ch in token:
                        if line and font.getlength((line + ch).rstrip()) > max_width:
                            lines.append(line.rstrip())
                            line = ""
                        line += ch
                else:
                    line = trial
            else:
                lines.append(line.rstrip())
                line = token.lstrip()
            if len(lines) > max_lines:
                break
        if line.strip():
            lines.append(line.rstrip())
        if len(lines) > max_lines:
            break
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and font.getlength(last + "…") > max_width:
            last = last[:-1]
        lines[-1] = last + "…"
    return lines


def _line_height(font) -> int:
    box = font.getbbox("Hg国अ")
    return max(1, int((box[3] - box[1]) * 1.35))


def _text_block(
    draw: ImageDraw.ImageDraw, lines: list[str], font, *, box: tuple[int, int, int, int], fill, align: str = "center"
) -> None:
    left, top, right, bottom = box
    height = _line_height(font)
    y = top + max(0, (bottom - top - height * len(lines)) // 2)
    for line in lines:
        width = font.getlength(line)
        x = left + ((right - left - width) / 2 if align == "center" else 0)
        draw.text((x, y), line, font=font, fill=fill)
        y += height


def _shade(img: Image.Image, box: tuple[int, int, int, int], colour=(0, 0, 0), opacity: float = 0.55) -> None:
    """Darken a rectangle so text on it is legible over any background."""
    left, top, right, bottom = (max(0, box[0]), max(0, box[1]), min(img.width, box[2]), min(img.height, box[3]))
    if right <= left or bottom <= top:
        return
    region = img.crop((left, top, right, bottom))
    overlay = Image.new(region.mode, region.size, colour + ((255,) if region.mode == "RGBA" else ()))
    img.paste(Image.blend(region, overlay, opacity), (left, top))


def _fit_text(
    text: str,
    script: str,
    locale: str,
    *,
    max_width: float,
    max_height: float,
    start: int,
    minimum: int,
    max_lines: int,
):
    size = start
    while True:
        font = _font(script, size, locale)
        lines = _wrap(text, font, max_width, max_lines)
        if (len(lines) * _line_height(font) <= max_height and not lines[-1].endswith("…")) or size <= minimum:
            return font, lines
        size = max(minimum, int(size * 0.8))


# --- prompt parsing ---------------------------------------------------------------------------------------


def split_prompt(prompt: str) -> dict[str, str]:
    """The parts the studio puts in a prompt: brand style, body, locale copy and edit instruction."""
    copy_match = COPY_LINE.search(prompt)
    edit_match = EDIT_LINE.search(prompt)
    body = prompt
    for match in (copy_match, edit_match):
        if match:
            body = body.replace(match.group(0), "")
    paragraphs = [p.strip() for p in body.split("\n\n") if p.strip()]
    style = ""
    if paragraphs and paragraphs[0].startswith("Brand style:"):
        style = paragraphs.pop(0)
    return {
        "style": style,
        "body": "\n".join(paragraphs),
        "locale": copy_match.group(1).strip() if copy_match else "",
        "copy": unicodedata.normalize("NFC", copy_match.group(2).strip()) if copy_match else "",
        "instruction": edit_match.group(1).strip() if edit_match else "",
    }


# --- drawing ----------------------------------------------------------------------------------------------


def _rng(*parts: Any) -> random.Random:
    digest = hashlib.sha256("\x00".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _background(width: int, height: int, rng: random.Random, palette, transparent: bool) -> Image.Image:
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


def _shapes(img: Image.Image, rng: random.Random, palette) -> None:
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


def _draw_copy(img: Image.Image, copy: str, locale: str) -> None:
    w, h = img.size
    script = script_of(copy)
    top, bottom = int(h * 0.30), int(h * 0.62)
    font, lines = _fit_text(
        copy,
        script,
        locale,
        max_width=w * 0.84,
        max_height=(bottom - top) * 0.9,
        start=max(14, int(min(w, h) / 8)),
        minimum=12,
        max_lines=4,
    )
    block = _line_height(font) * len(lines)
    mid = (top + bottom) // 2
    box = (int(w * 0.05), mid - block // 2 - int(h * 0.02), int(w * 0.95), mid + block // 2 + int(h * 0.02))
    _shade(img, box, opacity=0.6)
    _text_block(
        ImageDraw.Draw(img), lines, font, box=box, fill=(255, 255, 255, 255) if img.mode == "RGBA" else (255, 255, 255)
    )


def _draw_caption(
    img: Image.Image, text: str, *, top_fraction: float, bottom_fraction: float, max_lines: int, opacity: float = 0.55
) -> None:
    if not text.strip():
        return
    w, h = img.size
    top, bottom = int(h * top_fraction), int(h * bottom_fraction)
    script = script_of(text)
    font, lines = _fit_text(
        text[:600],
        script,
        "",
        max_width=w * 0.9,
        max_height=(bottom - top) * 0.9,
        start=max(11, int(min(w, h) / 28)),
        minimum=10,
        max_lines=max_lines,
    )
    _shade(img, (0, top, w, bottom), opacity=opacity)
    _text_block(
        ImageDraw.Draw(img),
        lines,
        font,
        box=(int(w * 0.05), top, int(w * 0.95), bottom),
        fill=(255, 255, 255, 255) if img.mode == "RGBA" else (255, 255, 255),
    )


def _label(img: Image.Image, text: str) -> None:
    font = _font("Latin", max(10, int(min(img.size) / 48)))
    draw = ImageDraw.Draw(img)
    pad = max(4, int(min(img.size) / 100))
    width = font.getlength(text)
    _shade(img, (0, 0, int(width + pad * 2), _line_height(font) + pad), opacity=0.5)
    draw.text((pad, pad // 2), text, font=font, fill=(255, 255, 255, 255) if img.mode == "RGBA" else (255, 255, 255))


def _encode(img: Image.Image, output_format: str, compression: int | None) -> tuple[bytes, str]:
    fmt = output_format if output_format in SAVE_FORMATS else "png"
    if fmt == "jpeg" and img.mode != "RGB":
        img = img.convert("RGB")
    out = io.BytesIO()
    if fmt == "png":
        img.save(out, format="PNG", compress_level=1)
    elif fmt == "jpeg":
        img.save(out, format="JPEG", quality=compression if compression is not None else 90)
    else:
        img.save(out, format="WEBP", quality=compression if compression is not None else 85, method=0)
    return out.getvalue(), fmt


def _parse_size(size: str) -> tuple[int, int]:
    w, _, h = (size or "").lower().partition("x")
    if not (w.isdigit() and h.isdigit()) or int(w) < 16 or int(h) < 16 or int(w) * int(h) > 40_000_000:
        raise ProviderError(
            f"The offline renderer cannot draw at {size!r}; give a size like 1024x1024.",
            kind=ErrorKind.FATAL,
            code="invalid_size",
        )
    return int(w), int(h)


def _open(data: bytes, what: str) -> Image.Image:
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ProviderError(f"The {what} is not a readable image.", kind=ErrorKind.FATAL, code="bad_input") from exc
    return img


def _input_image_tokens(img: Image.Image) -> int:
    """Tile-style count (85 + 170 per 512-pixel tile), the shape hosted models use for image input."""
    return 85 + 170 * math.ceil(img.width / 512) * math.ceil(img.height / 512)


class OfflineProvider:
    """Draws images locally. ``deployment`` is optional; its profile's default token counts (if any) make
    offline usage match the estimates shown before launch."""

    label = "Offline renderer"

    def __init__(self, deployment=None) -> None:
        self.deployment = deployment

    def _output_tokens(self, quality: str, width: int, height: int) -> int:
        table = dict(OUTPUT_TOKENS)
        profile = getattr(self.deployment, "profile", None)
        table.update(getattr(profile, "default_output_tokens", None) or {})
        per_reference = table.get(quality) or table.get("auto") or OUTPUT_TOKENS["auto"]
        return max(1, round(float(per_reference) * width * height / (1024 * 1024)))

    def _usage(self, prompt: str, quality: str, width: int, height: int, n: int, image_tokens: int = 0) -> Usage:
        return Usage(
            input_text_tokens=max(1, math.ceil(len(prompt) / 4)),
            input_image_tokens=image_tokens,
            output_image_tokens=self._output_tokens(quality, width, height) * n,
        )

    def _result(
        self, images: list[GeneratedImage], usage: Usage, started: float, key: str, size: str
    ) -> ProviderResult:
        return ProviderResult(
            images=images,
            usage=usage,
            request_id=f"offline-{hashlib.sha256(key.encode()).hexdigest()[:16]}",
            latency_ms=int((time.monotonic() - started) * 1000),
            raw_meta={"size": size, "renderer": "offline"},
        )

    def render(
        self, *, prompt: str, width: int, height: int, seed: int, index: int, transparent: bool = False
    ) -> Image.Image:
        """One generated image (exposed for previews and tests)."""
        parts = split_prompt(prompt)
        look = _rng("look", parts["body"] or prompt)
        palette = PALETTES[look.randrange(len(PALETTES))]
        rng = _rng(prompt, f"{width}x{height}", seed, index)
        img = _background(width, height, look if index == 0 else rng, palette, transparent)
        _shapes(img, rng, palette)
        if parts["copy"]:
            _draw_copy(img, parts["copy"], parts["locale"])
        _draw_caption(img, parts["body"] or prompt, top_fraction=0.74, bottom_fraction=0.97, max_lines=5)
        _label(img, f"Offline preview · {width}x{height} · #{index + 1}")
        return img

    def generate(self, request: GenerationRequest) -> ProviderResult:
        started = time.monotonic()
        width, height = _parse_size(request.size)
        transparent = request.background == "transparent" and request.output_format in ("png", "webp")
        images = []
        for index in range(max(1, request.n)):
            img = self.render(
                prompt=request.prompt,
                width=width,
                height=height,
                seed=request.seed,
                index=index,
                transparent=transparent,
            )
            data, fmt = _encode(img, request.output_format, request.output_compression)
            images.append(GeneratedImage(data=data, width=width, height=height, format=fmt))
        usage = self._usage(request.prompt, request.quality, width, height, len(images))
        return self._result(images, usage, started, f"{request.prompt}|{request.size}|{request.seed}", request.size)

    def _region(self, mask_bytes: bytes, base: Image.Image, size: tuple[int, int]) -> Image.Image:
        """L image, 255 where the mask's alpha is 0 (the area to change), fitted like the base."""
        mask = _open(mask_bytes, "mask")
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

    def edit(self, request: EditRequest) -> ProviderResult:
        started = time.monotonic()
        if not request.images:
            raise ProviderError("An edit needs an image to change.", kind=ErrorKind.FATAL, code="bad_images")
        width, height = _parse_size(request.size)
        parts = split_prompt(request.prompt)
        instruction = parts["instruction"] or parts["body"] or request.prompt
        originals = [
            _open(data, "image" if i == 0 else f"reference image {i}") for i, data in enumerate(request.images)
        ]
        source = originals[0]
        base = ImageOps.fit(source.convert("RGB"), (width, height), method=Image.Resampling.LANCZOS)
        region = self._region(request.mask, source, (width, height)) if request.mask is not None else None
        image_tokens = sum(_input_image_tokens(img) for img in originals)
        images = []
        for index in range(max(1, request.n)):
            rng = _rng("edit", instruction, request.size, request.seed, index)
            tint = PALETTES[rng.randrange(len(PALETTES))][rng.randrange(4)]
            if region is not None:
                out = self._edit_masked(base, region, tint, instruction, parts, rng)
            else:
                out = self._edit_whole(base, tint, instruction, parts, originals[1:])
            data, fmt = _encode(out, request.output_format, request.output_compression)
            images.append(GeneratedImage(data=data, width=width, height=height, format=fmt))
        usage = self._usage(request.prompt, request.quality, width, height, len(images), image_tokens)
        key = f"{request.prompt}|{request.size}|{request.seed}|{hashlib.sha256(request.images[0]).hexdigest()}"
        return self._result(images, usage, started, key, request.size)

    def _edit_masked(
        self, base: Image.Image, region: Image.Image, tint, instruction: str, parts: dict[str, str], rng: random.Random
    ) -> Image.Image:
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
            font, lines = _fit_text(
                text,
                script,
                "",
                max_width=box_w * 0.9,
                max_height=box_h * 0.9,
                start=max(10, int(min(box_w, box_h) / 5)),
                minimum=9,
                max_lines=6,
            )
            _shade(changed, (left, top, right, bottom), opacity=0.35)
            _text_block(ImageDraw.Draw(changed), lines, font, box=bbox, fill=(255, 255, 255))
        return Image.composite(changed, base, region)

    def _edit_whole(
        self, base: Image.Image, tint, instruction: str, parts: dict[str, str], references: list[Image.Image]
    ) -> Image.Image:
        out = Image.blend(base, Image.new("RGB", base.size, tint), 0.3)
        out = ImageOps.autocontrast(out, cutoff=1)
        if parts["copy"]:
            _draw_copy(out, parts["copy"], parts["locale"])
        _draw_caption(out, f"Edit: {instruction}", top_fraction=0.82, bottom_fraction=1.0, max_lines=3, opacity=0.7)
        w, h = out.size
        thumb_edge = max(16, int(h * 0.14))
        x = w - thumb_edge - int(w * 0.02)
        for ref in references[:4]:
            thumb = ImageOps.fit(ref.convert("RGB"), (thumb_edge, thumb_edge), method=Image.Resampling.BILINEAR)
            out.paste(thumb, (x, int(h * 0.02)))
            x -= thumb_edge + int(w * 0.01)
        return out
