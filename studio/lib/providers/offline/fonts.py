"""Fonts for the offline renderer: which file draws which script, found on the server at run time."""

from __future__ import annotations

import functools
import unicodedata
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


# A code point no font draws: what a font renders for it is its .notdef ("tofu") glyph.
_NO_GLYPH = "\U0010ffff"
# Letters of the tallest scripts: one line of any copy fits in their height.
SAMPLE = "Hg国अ"


def _mask_key(font, text: str) -> tuple:
    mask = font.getmask(text)
    return mask.size, bytes(mask)


@functools.lru_cache(maxsize=4096)
def font_covers(font, ch: str) -> bool:
    """Whether ``font`` has a glyph for ``ch``. Pillow exposes no cmap, so compare the character's bitmap
    with the font's .notdef bitmap: a font without the glyph draws exactly that box. Spaces and combining
    marks always count as covered (a mark is drawn by the run of the letter it sits on)."""
    if ch.isspace() or unicodedata.category(ch).startswith("M"):
        return True
    return _mask_key(font, ch) != _mask_key(font, _NO_GLYPH)


class MixedFont:
    """Fonts for one line of mixed scripts at one size, used like one Pillow font: ``getlength`` and
    ``getbbox`` measure, :meth:`draw` sets the text run by run on a shared baseline. Each character is
    drawn by the font of its run while that font covers it, else by the first font in ``fonts`` (the
    copy's own script first, then Latin) that does, so Latin words inside Hindi copy are not tofu boxes."""

    def __init__(self, fonts: list) -> None:
        self.fonts = fonts
        self.size = getattr(fonts[0], "size", 10)

    def runs(self, text: str) -> list[tuple[str, object]]:
        runs: list[tuple[str, object]] = []
        current = None
        for ch in text:
            if current is None or not font_covers(current, ch):
                current = next((f for f in self.fonts if font_covers(f, ch)), current or self.fonts[0])
            if runs and runs[-1][1] is current:
                runs[-1] = (runs[-1][0] + ch, current)
            else:
                runs.append((ch, current))
        return runs

    def getlength(self, text: str) -> float:
        return sum(font.getlength(run) for run, font in self.runs(text))

    def getbbox(self, text: str) -> tuple[int, int, int, int]:
        """The line's box relative to the shared baseline's top (like a Pillow font's ``getbbox``)."""
        ascent = self.ascent()
        x, boxes = 0.0, []
        for run, font in self.runs(text):
            left, top, right, bottom = font.getbbox(run, anchor="ls")
            boxes.append((x + left, ascent + top, x + right, ascent + bottom))
            x += font.getlength(run)
        if not boxes:
            return (0, 0, 0, 0)
        lefts, tops, rights, bottoms = zip(*boxes, strict=True)
        return int(min(lefts)), int(min(tops)), int(max(rights)), int(max(bottoms))

    def ascent(self) -> int:
        return max(font.getmetrics()[0] for font in self.fonts)

    def draw(self, draw, xy: tuple[float, float], text: str, fill) -> None:
        x, y = xy
        # The ink of the tallest script sits in the middle of the line box ``text.line_height`` allots
        # (1.35 x the ink height), not below the ascender of whichever face is tallest.
        _, top, _, bottom = self.getbbox(SAMPLE)
        baseline = y + self.ascent() - top + (bottom - top) * 0.175
        for run, font in self.runs(text):
            draw.text((x, baseline), run, font=font, fill=fill, anchor="ls")
            x += font.getlength(run)


def mixed_font(script: str, size: int, locale: str = "") -> MixedFont:
    """The fonts that draw text mostly in ``script``: its own face first, then Latin, then every other
    installed script face, so a character any installed font covers is drawn by one that does."""
    order = [script, "Latin"] + [s for s in SCRIPT_FONTS if s not in (script, "Latin")]
    fonts, seen = [], set()
    for name in order:
        path = script_font_file(name)
        if path and path not in seen:
            seen.add(path)
            fonts.append(font_for(name, size, locale))
    return MixedFont(fonts or [font_for(script, size, locale)])
