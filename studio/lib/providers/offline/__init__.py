"""The offline renderer: a provider that needs no network, no key and no money.

It exists so the whole pipeline (planning, budgets, safety, review, renditions) runs on a fresh clone and
in tests. Every image is deterministic from (prompt, size, seed, index), drawn at EXACTLY the requested
size, and recognisable: a composition derived from the prompt's hash, the prompt text itself, and the
locale copy (the studio's ``In-image text (LOCALE): "COPY"`` line) set large in a font that covers its
script. Edits visibly follow the instruction: inside the mask only when there is one, across the whole
image otherwise. Usage is reported in the hosted APIs' shape so cost code runs end to end.

Parts: ``fonts`` (which file draws which script), ``text`` (wrapping and setting text), ``prompt`` (the
studio's prompt lines), ``composition`` (backgrounds, shapes, edit effects, encoding) and ``provider``
(the ``ImageProvider``). The font report for the UI lives here, so patching
``studio.lib.providers.offline.offline_missing_scripts`` changes what ``offline_font_coverage`` says.
"""

from __future__ import annotations

from PIL import features

from studio.lib.providers.offline.fonts import SCRIPT_FONTS, script_font_file, script_of
from studio.lib.providers.offline.prompt import split_prompt
from studio.lib.providers.offline.provider import OfflineProvider

__all__ = ["OfflineProvider", "offline_font_coverage", "offline_missing_scripts", "script_of", "split_prompt"]


def offline_missing_scripts() -> list[str]:
    """The scripts no installed font can draw (their text would show as boxes)."""
    return [script for script in SCRIPT_FONTS if script_font_file(script) is None]


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
