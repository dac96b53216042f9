"""The refusal every image check raises, and the sentences it shares between uploads and masks.

The pure library knows no ``studio.core.errors.Refusal`` (it sits below every app), so
:class:`UploadRejected` carries its own plain-language ``message`` and ``code``; views catch it next to
``Refusal``.
"""

from __future__ import annotations

MSG_EMPTY = "The file is empty. Choose the image again and re-upload it."
MSG_DAMAGED = "The file is damaged or incomplete. Export it again and re-upload it."
MSG_POLYGLOT = (
    "This file has extra data hidden after the picture, so we can't safely use it. "
    "Export it again as a plain PNG, JPEG or WebP image."
)
MSG_ANIMATED = "Animated images can't be used. Export a single still frame as PNG, JPEG or WebP."


class UploadRejected(ValueError):
    """An upload we refuse, with ``message`` in words a marketer can act on (shown next to the field)."""

    def __init__(self, message: str, *, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def human_bytes(n: int) -> str:
    """ "20 MB", "1.5 MB", "512 KB": a size as a refusal message says it."""
    if n >= 1024 * 1024:
        value = n / (1024 * 1024)
        return f"{value:.0f} MB" if value == int(value) or value >= 10 else f"{value:.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} bytes"


def human_pixels(n: int) -> str:
    """ "40 million pixels", "2.5 million pixels", "5,000 pixels"."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000} million pixels"
    if n >= 1_000_000 and n % 100_000 == 0:
        return f"{n / 1_000_000:.1f} million pixels"
    return f"{n:,} pixels"
