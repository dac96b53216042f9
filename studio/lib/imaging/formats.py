"""The one table of image formats the product reads, stores and sends, and sniffing by content.

Every module that needs a MIME type, a file extension, a Pillow format name or magic bytes reads it
from :data:`FORMATS`; nothing decides by a file name or a browser's content type. PNG, JPEG and WebP
are what we store and send to image APIs (:data:`STORED`); GIF and BMP are only read (the screeners
accept them as they are).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ImageFormat:
    """One image format: its short name (what the image APIs call it), MIME type, Pillow name, extension."""

    name: str  # "png", "jpeg", "webp", "gif", "bmp": the image APIs' ``output_format`` spelling
    mime: str
    pillow: str  # Pillow's ``Image.format`` and the ``format=`` of ``Image.save``
    extension: str  # for file names (without the dot)
    magic: bytes  # the file's first bytes
    riff_form: bytes = b""  # for RIFF containers: the form type at bytes 8..12
    aliases: tuple[str, ...] = ()
    transparency: bool = False  # can hold a transparent background
    description: str = ""  # how a refusal names a file in this format ("a GIF image")

    def matches(self, data: bytes) -> bool:
        if self.riff_form:
            return len(data) >= 12 and data.startswith(self.magic) and data[8:12] == self.riff_form
        return data.startswith(self.magic)


PNG = ImageFormat("png", "image/png", "PNG", "png", b"\x89PNG\r\n\x1a\n", transparency=True, description="a PNG image")
JPEG = ImageFormat("jpeg", "image/jpeg", "JPEG", "jpg", b"\xff\xd8\xff", aliases=("jpg",), description="a JPEG photo")
WEBP = ImageFormat(
    "webp", "image/webp", "WEBP", "webp", b"RIFF", riff_form=b"WEBP", transparency=True, description="a WebP image"
)
GIF = ImageFormat("gif", "image/gif", "GIF", "gif", b"GIF8", description="a GIF image")
BMP = ImageFormat("bmp", "image/bmp", "BMP", "bmp", b"BM", description="a BMP image")

FORMATS: tuple[ImageFormat, ...] = (PNG, JPEG, WEBP, GIF, BMP)
STORED: tuple[ImageFormat, ...] = (PNG, JPEG, WEBP)
OCTET_STREAM = "application/octet-stream"
# The output formats a transparent background can be asked for ("png", "webp").
TRANSPARENT_FORMATS = frozenset(fmt.name for fmt in STORED if fmt.transparency)


def sniff(data: bytes, formats: tuple[ImageFormat, ...] = FORMATS) -> ImageFormat | None:
    """The format ``data`` is in, read from its magic bytes (``None`` when it is none of ``formats``)."""
    return next((fmt for fmt in formats if fmt.matches(data)), None)


def by_name(name: str, formats: tuple[ImageFormat, ...] = FORMATS) -> ImageFormat | None:
    """The format called ``name`` ("png", "jpeg", "jpg", "WEBP", ...), or ``None``."""
    key = (name or "").lower()
    return next((fmt for fmt in formats if key == fmt.name or key in fmt.aliases), None)


def by_pillow(pillow_format: str | None, formats: tuple[ImageFormat, ...] = FORMATS) -> ImageFormat | None:
    """The format for Pillow's ``Image.format`` ("PNG", "JPEG", ...), or ``None``."""
    return next((fmt for fmt in formats if fmt.pillow == (pillow_format or "")), None)


def describe_content(data: bytes) -> str | None:
    """Name what a file looks like, for a refusal message (``None`` if we cannot tell)."""
    head = data[:2048]
    if (fmt := sniff(head)) is not None:
        return fmt.description
    if head.startswith(b"%PDF-"):
        return "a PDF document"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "a ZIP archive or Office document"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "a TIFF image"
    if head.startswith(b"8BPS"):
        return "a Photoshop document"
    if head.startswith(b"\x00\x00\x01\x00"):
        return "an icon file"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"):
            return "an HEIC photo (the iPhone format)"
        if brand in (b"avif", b"avis"):
            return "an AVIF image"
        return "a video file"
    if head.startswith(b"RIFF"):
        return "a RIFF media file (audio or video)"
    text = head.lstrip(b"\xef\xbb\xbf").lstrip().lower()
    if b"<svg" in text:
        return "an SVG drawing"
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<iframe", b"<meta")) or (
        b"<html" in text
    ):
        return "an HTML web page"
    if text.startswith(b"<?xml") or text.startswith(b"<"):
        return "an XML document"
    try:
        decoded = head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if decoded and all(ch.isprintable() or ch in "\r\n\t" for ch in decoded):
        return "a text file"
    return None
