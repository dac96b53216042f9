"""Server-side checks for everything a user uploads or paints in the edit studio.

Why this module exists: uploaded images go to a paid image API, get stored, and are shown to reviewers.
A file named ``photo.png`` can be an SVG with script, an HTML page, a PDF, a ZIP glued onto a PNG, a
100000x100000 "image" of a few hundred bytes that would take gigabytes to decode, or simply half a file.
Everything here decides by *content*, never by the file name or the browser's content type, and bounds
the work (bytes, edge length, pixel count) before any pixel is decoded.

Rules, in the order they run (each refusal is an :class:`UploadRejected` with a plain-language message):

1. Empty or over the byte limit (``settings.IMPRIMATUR_MAX_UPLOAD_BYTES`` by default).
2. Magic bytes must say PNG, JPEG or WebP. Anything else is named in the message when we can tell what
   it is (SVG, HTML, PDF, GIF, ZIP, HEIC, text, ...).
3. The file's own structure is walked without decoding pixels (PNG chunks with CRCs, JPEG markers and
   entropy-coded scans, the WebP RIFF container). This yields the declared width and height and tells
   us where the image really ends.
4. **Polyglot rule**: nothing may follow the image's end (PNG ``IEND``, JPEG ``EOI``, the RIFF length
   of WebP) except NUL padding, which some encoders and cameras add. A PNG with HTML or a ZIP appended,
   or a JPEG with another file (for example a phone's "motion photo" video) after its end, is refused:
   such a file means different things to different programs, and we will not store or forward it.
5. Declared dimensions: at most :data:`studio.lib.sizing.MAX_EDGE_PX` per side and ``IMPRIMATUR_MAX_IMAGE_PIXELS`` in
   total, checked on the header before decoding.
6. Pillow, restricted to the sniffed format, runs ``verify()`` and then a full ``load()``; truncated or
   corrupt data fails here. Pillow's own decompression-bomb guard stays on
   (``Image.MAX_IMAGE_PIXELS`` comes from settings) and its warning is raised as an error.
7. Animated images are refused (the image API takes one still frame).
8. EXIF orientation is applied, colour-managed images are converted to sRGB (so dropping the profile
   does not change their colours), and the image is re-encoded in its own format, which drops every
   piece of metadata: EXIF (GPS, camera serials), XMP, ICC profiles, PNG text chunks and JPEG comments.

Masks (``masks.validate_mask``) go through steps 1-6 too; see that module.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from dataclasses import dataclass

from django.conf import settings
from PIL import Image, ImageCms, ImageOps

from studio.lib.imaging.errors import MSG_ANIMATED, MSG_DAMAGED, MSG_EMPTY, UploadRejected, human_bytes, human_pixels
from studio.lib.imaging.formats import JPEG, PNG, STORED, WEBP, ImageFormat, by_pillow, describe_content, sniff
from studio.lib.imaging.structure import Structure, walk
from studio.lib.sizing import MAX_EDGE_PX

# Pillow raises a mixed bag when a file is corrupt or cut short.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, IndexError, TypeError)


@dataclass(frozen=True, slots=True)
class CleanImage:
    """A validated image: re-encoded bytes without metadata, its real (upright) size and its format."""

    data: bytes
    width: int
    height: int
    format: str  # Pillow's name: "PNG", "JPEG" or "WEBP"

    @property
    def content_type(self) -> str:
        return by_pillow(self.format).mime

    @property
    def extension(self) -> str:
        return by_pillow(self.format).extension


def _configure_pillow() -> int:
    """Keep Pillow's own bomb guard in step with settings (tests and deployments may change them)."""
    limit = int(settings.IMPRIMATUR_MAX_IMAGE_PIXELS)
    Image.MAX_IMAGE_PIXELS = limit
    return limit


def _check_dimensions(width: int, height: int, *, max_pixels: int) -> None:
    pixels = width * height
    if pixels > max_pixels:
        raise UploadRejected(
            f"This image is {width}x{height} pixels; the largest we accept is {human_pixels(max_pixels)}.",
            code="too_many_pixels",
        )
    if width > MAX_EDGE_PX or height > MAX_EDGE_PX:
        raise UploadRejected(
            f"This image is {width}x{height} pixels; the largest we accept is {MAX_EDGE_PX} pixels on each side.",
            code="too_wide",
        )


def inspect_image(
    data: bytes, *, max_bytes: int, max_pixels: int, allowed: tuple[ImageFormat, ...], wrong_type: tuple[str, str]
) -> Structure:
    """Steps 1-5 of the module docstring: everything that needs no pixel decoding."""
    if not data:
        raise UploadRejected(MSG_EMPTY, code="empty")
    if len(data) > max_bytes:
        raise UploadRejected(
            f"This file is {human_bytes(len(data))}; the largest we accept is {human_bytes(max_bytes)}.",
            code="too_big",
        )
    fmt = sniff(data)
    if fmt not in allowed:
        looks_like = describe_content(data)
        sentence, looks_phrase = wrong_type
        suffix = f" ({looks_phrase} {looks_like})" if looks_like else ""
        raise UploadRejected(f"{sentence}{suffix}.", code="wrong_type")
    structure = walk(data, fmt)
    _check_dimensions(structure.width, structure.height, max_pixels=max_pixels)
    if structure.animated:
        raise UploadRejected(MSG_ANIMATED, code="animated")
    return structure


def open_verified(data: bytes, structure: Structure) -> Image.Image:
    """Steps 6-7: Pillow verify + full load with the bomb warning promoted to an error."""
    _configure_pillow()
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=[structure.format.pillow]) as probe:
                probe.verify()
            im = Image.open(io.BytesIO(data), formats=[structure.format.pillow])
            if im.size != (structure.width, structure.height):
                raise UploadRejected(MSG_DAMAGED, code="damaged")
            if getattr(im, "n_frames", 1) > 1:
                raise UploadRejected(MSG_ANIMATED, code="animated")
            im.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise UploadRejected(
                f"This image is {structure.width}x{structure.height} pixels, too large to open safely.",
                code="decompression_bomb",
            ) from exc
        except UploadRejected:
            raise
        except _DECODE_ERRORS as exc:
            raise UploadRejected(MSG_DAMAGED, code="damaged") from exc
    return im


def _to_srgb(im: Image.Image) -> Image.Image:
    """Convert a colour-managed image to sRGB so that dropping its ICC profile keeps its colours."""
    icc = im.info.get("icc_profile")
    if icc and im.mode in ("RGB", "RGBA", "CMYK"):
        try:
            converted = ImageCms.profileToProfile(
                im,
                ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                ImageCms.createProfile("sRGB"),
                outputMode="RGB" if im.mode == "CMYK" else im.mode,
            )
        except (ImageCms.PyCMSError, OSError, ValueError):
            converted = None  # an unreadable profile: keep the raw values, which most viewers show anyway
        if converted is not None:
            im = converted
    if im.mode == "CMYK":
        im = im.convert("RGB")
    return im


def _encode(im: Image.Image, fmt: ImageFormat) -> bytes:
    """Re-encode without any metadata: only PNG transparency survives from ``info``."""
    transparency = im.info.get("transparency")
    im.info = {"transparency": transparency} if transparency is not None and fmt is PNG else {}
    buf = io.BytesIO()
    if fmt is JPEG:
        if im.mode not in ("RGB", "L"):
            im = im.convert("RGB")
        im.save(buf, format="JPEG", quality=95, subsampling=0, optimize=True)
    elif fmt is WEBP:
        if im.mode not in ("RGB", "RGBA"):
            im = im.convert("RGBA" if "A" in im.getbands() or "transparency" in im.info else "RGB")
        im.save(buf, format="WEBP", lossless=True, exact=True, method=4)
    else:
        if im.mode == "CMYK":
            im = im.convert("RGB")
        im.save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


# ------------------------------------------------------------------------------------------ public API


def validate_image_upload(data: bytes, *, max_bytes: int | None = None, max_pixels: int | None = None) -> CleanImage:
    """Validate an uploaded image by content and return a clean, upright, metadata-free copy.

    ``max_bytes`` defaults to ``settings.IMPRIMATUR_MAX_UPLOAD_BYTES``; ``max_pixels`` can tighten, never
    loosen, ``settings.IMPRIMATUR_MAX_IMAGE_PIXELS`` (Pillow's process-wide guard is set from the latter).
    Raises :class:`UploadRejected`.
    """
    global_limit = int(settings.IMPRIMATUR_MAX_IMAGE_PIXELS)
    limit = min(max_pixels, global_limit) if max_pixels is not None else global_limit
    max_bytes = int(settings.IMPRIMATUR_MAX_UPLOAD_BYTES) if max_bytes is None else max_bytes
    structure = inspect_image(
        data,
        max_bytes=max_bytes,
        max_pixels=limit,
        allowed=STORED,
        wrong_type=("This file is not a PNG, JPEG or WebP image", "it looks like"),
    )
    im = open_verified(data, structure)
    try:
        upright = ImageOps.exif_transpose(im)
    except _DECODE_ERRORS as exc:  # a malformed EXIF block: refuse rather than guess the orientation
        raise UploadRejected(MSG_DAMAGED, code="damaged") from exc
    finally:
        im.close()
    clean = _to_srgb(upright)
    encoded = _encode(clean, structure.format)
    return CleanImage(data=encoded, width=clean.width, height=clean.height, format=structure.format.pillow)


def validate_uploaded_file(upload, *, max_bytes: int | None = None, max_pixels: int | None = None) -> CleanImage:
    """:func:`validate_image_upload` for a Django ``UploadedFile``: refuses on ``upload.size`` before reading."""
    max_bytes = int(settings.IMPRIMATUR_MAX_UPLOAD_BYTES) if max_bytes is None else max_bytes
    size = getattr(upload, "size", None)
    if size is not None and size > max_bytes:
        raise UploadRejected(
            f"This file is {human_bytes(size)}; the largest we accept is {human_bytes(max_bytes)}.",
            code="too_big",
        )
    upload.seek(0)
    data = upload.read(max_bytes + 1)
    return validate_image_upload(data, max_bytes=max_bytes, max_pixels=max_pixels)
