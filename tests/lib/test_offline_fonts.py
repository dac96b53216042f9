"""The offline renderer picks a font per run of script, so Latin words inside Hindi copy are drawn in a face
that has them, never as .notdef boxes ("tofu"; issue 14)."""

from __future__ import annotations

import pytest
from PIL import ImageFont

from studio.lib.providers.offline.fonts import mixed_font, script_font_file

COPY = "Sale 50% — नमस्ते"

needs_fonts = pytest.mark.skipif(
    not (script_font_file("Devanagari") and script_font_file("Latin")),
    reason="Noto Sans and Noto Sans Devanagari are not installed (make test installs fonts-noto-core)",
)


def is_tofu(font: ImageFont.FreeTypeFont, ch: str) -> bool:
    """Independent of the renderer: a character the font lacks renders as the same bitmap as a code point
    no font has (U+10FFFF), the font's .notdef box."""
    missing = font.getmask("\U0010ffff")
    glyph = font.getmask(ch)
    return (glyph.size, bytes(glyph)) == (missing.size, bytes(missing))


@needs_fonts
def test_the_devanagari_face_alone_would_draw_latin_as_tofu():
    # The failure the per-run selection fixes: one face for the whole line.
    devanagari = ImageFont.truetype(script_font_file("Devanagari"), 48)
    assert [ch for ch in "Sale" if is_tofu(devanagari, ch)] == list("Sale")


@needs_fonts
def test_latin_inside_hindi_copy_is_drawn_in_a_latin_face():
    font = mixed_font("Devanagari", 48, "hi")
    runs = font.runs(COPY)
    assert "".join(text for text, _ in runs) == COPY
    assert [(text, f.path) for text, f in runs] == [
        ("Sale 50% — ", script_font_file("Latin")),
        ("नमस्ते", script_font_file("Devanagari")),
    ]
    for text, run_font in runs:
        tofu = [ch for ch in text if not ch.isspace() and is_tofu(run_font, ch)]
        assert tofu == [], f"{tofu} would be drawn as .notdef boxes"


@needs_fonts
def test_combining_marks_stay_with_their_letter():
    # The virama and the vowel sign render alone in a Latin face as dotted circles; they must not split the
    # word, or the conjunct "स्ते" would not be shaped.
    runs = mixed_font("Devanagari", 32, "hi").runs("नमस्ते")
    assert len(runs) == 1


@needs_fonts
def test_mixed_copy_widths_add_up_run_by_run():
    font = mixed_font("Devanagari", 40, "hi")
    latin = ImageFont.truetype(script_font_file("Latin"), 40)
    devanagari = ImageFont.truetype(script_font_file("Devanagari"), 40)
    assert font.getlength(COPY) == pytest.approx(latin.getlength("Sale 50% — ") + devanagari.getlength("नमस्ते"))
