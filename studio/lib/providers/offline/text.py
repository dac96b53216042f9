"""Setting text on the offline renderer's images: wrapping, fitting to a box, and legible blocks."""

from __future__ import annotations

import re

from PIL import Image, ImageDraw

from studio.lib.providers.offline.fonts import SAMPLE, MixedFont, font_for, mixed_font, script_of

_TOKEN = re.compile(
    r"[\u1100-\u11ff\u3000-\u30ff\u3130-\u318f\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]|\S+\s*|\s+"
)


def wrap(text: str, font, max_width: float, max_lines: int) -> list[str]:
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


def line_height(font) -> int:
    box = font.getbbox(SAMPLE)
    return max(1, int((box[3] - box[1]) * 1.35))


def text_block(
    draw: ImageDraw.ImageDraw, lines: list[str], font, *, box: tuple[int, int, int, int], fill, align: str = "center"
) -> None:
    left, top, right, bottom = box
    height = line_height(font)
    y = top + max(0, (bottom - top - height * len(lines)) // 2)
    for line in lines:
        width = font.getlength(line)
        x = left + ((right - left - width) / 2 if align == "center" else 0)
        if isinstance(font, MixedFont):  # per-run fonts: Latin inside Hindi copy in a Latin face
            font.draw(draw, (x, y), line, fill=fill)
        else:
            draw.text((x, y), line, font=font, fill=fill)
        y += height


def shade(img: Image.Image, box: tuple[int, int, int, int], colour=(0, 0, 0), opacity: float = 0.55) -> None:
    """Darken a rectangle so text on it is legible over any background."""
    left, top, right, bottom = (max(0, box[0]), max(0, box[1]), min(img.width, box[2]), min(img.height, box[3]))
    if right <= left or bottom <= top:
        return
    region = img.crop((left, top, right, bottom))
    overlay = Image.new(region.mode, region.size, colour + ((255,) if region.mode == "RGBA" else ()))
    img.paste(Image.blend(region, overlay, opacity), (left, top))


def fit_text(
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
        font = mixed_font(script, size, locale)
        lines = wrap(text, font, max_width, max_lines)
        if (len(lines) * line_height(font) <= max_height and not lines[-1].endswith("…")) or size <= minimum:
            return font, lines
        size = max(minimum, int(size * 0.8))


def draw_copy(img: Image.Image, copy: str, locale: str) -> None:
    w, h = img.size
    script = script_of(copy)
    top, bottom = int(h * 0.30), int(h * 0.62)
    font, lines = fit_text(
        copy,
        script,
        locale,
        max_width=w * 0.84,
        max_height=(bottom - top) * 0.9,
        start=max(14, int(min(w, h) / 8)),
        minimum=12,
        max_lines=4,
    )
    block = line_height(font) * len(lines)
    mid = (top + bottom) // 2
    box = (int(w * 0.05), mid - block // 2 - int(h * 0.02), int(w * 0.95), mid + block // 2 + int(h * 0.02))
    shade(img, box, opacity=0.6)
    text_block(
        ImageDraw.Draw(img), lines, font, box=box, fill=(255, 255, 255, 255) if img.mode == "RGBA" else (255, 255, 255)
    )


def draw_caption(
    img: Image.Image, text: str, *, top_fraction: float, bottom_fraction: float, max_lines: int, opacity: float = 0.55
) -> None:
    if not text.strip():
        return
    w, h = img.size
    top, bottom = int(h * top_fraction), int(h * bottom_fraction)
    script = script_of(text)
    font, lines = fit_text(
        text[:600],
        script,
        "",
        max_width=w * 0.9,
        max_height=(bottom - top) * 0.9,
        start=max(11, int(min(w, h) / 28)),
        minimum=10,
        max_lines=max_lines,
    )
    shade(img, (0, top, w, bottom), opacity=opacity)
    text_block(
        ImageDraw.Draw(img),
        lines,
        font,
        box=(int(w * 0.05), top, int(w * 0.95), bottom),
        fill=(255, 255, 255, 255) if img.mode == "RGBA" else (255, 255, 255),
    )


def draw_label(img: Image.Image, text: str) -> None:
    font = font_for("Latin", max(10, int(min(img.size) / 48)))
    draw = ImageDraw.Draw(img)
    pad = max(4, int(min(img.size) / 100))
    width = font.getlength(text)
    shade(img, (0, 0, int(width + pad * 2), line_height(font) + pad), opacity=0.5)
    draw.text((pad, pad // 2), text, font=font, fill=(255, 255, 255, 255) if img.mode == "RGBA" else (255, 255, 255))
