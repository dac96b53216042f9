"""Fonts for the offline renderer: which file draws which script, found on the server at run time."""

from __future__ import annotations

import functools
from pathlib import Path

from PIL import ImageFont

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


@functools.lru_cache(maxsize=64)
def find_font_file(name: str) -> str | None:
    """The first installed font file called ``name`` (searched once per name)."""
    for base in FONT_DIRS:
        if base.is_dir():
            for path in base.rglob(name):
                return str(path)
    return None


def script_font_file(script: str) -> str | None:
    """The installed font file that draws ``script``, or ``None``."""
    for name in SCRIPT_FONTS.get(script, ()):
        if found := find_font_file(name):
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
def font_for(script: str, size: int, locale: str = "") -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A font for ``script`` at ``size`` (the locale picks the CJK face); Pillow's built-in one when none is
    installed, which draws what it can."""
    path = script_font_file(script)
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
