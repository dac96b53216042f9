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
5. Declared dimensions: at most :data:`MAX_EDGE_PX` per side and ``IMPRIMATUR_MAX_IMAGE_PIXELS`` in
   total, checked on the header before decoding.
6. Pillow, restricted to the sniffed format, runs ``verify()`` and then a full ``load()``; truncated or
   corrupt data fails here. Pillow's own decompression-bomb guard stays on
   (``Image.MAX_IMAGE_PIXELS`` comes from settings) and its warning is raised as an error.
7. Animated images are refused (the image API takes one still frame).
8. EXIF orientation is applied, colour-managed images are converted to sRGB (so dropping the profile
   does not change their colours), and the image is re-encoded in its own format, which drops every
   piece of metadata: EXIF (GPS, camera serials), XMP, ICC profiles, PNG text chunks and JPEG comments.

Masks (:func:`validate_mask`) follow the image API's contract: a PNG under 4 MB, exactly the size of the
base image, where alpha 0 marks the area to change. See docs/edit-studio.md.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import struct
import warnings
import zlib
from dataclasses import dataclass

from django.conf import settings
from PIL import Image, ImageCms, ImageOps

from studio.generation.models import MAX_EDGE_PX

MASK_MAX_BYTES = 4 * 1024 * 1024  # the image API wants masks strictly smaller than 4 MB
ALPHA_THRESHOLD = 128  # alpha below this counts as painted ("change here"); the API only honours alpha 0

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"

FORMAT_PNG = "PNG"
FORMAT_JPEG = "JPEG"
FORMAT_WEBP = "WEBP"
CONTENT_TYPES = {FORMAT_PNG: "image/png", FORMAT_JPEG: "image/jpeg", FORMAT_WEBP: "image/webp"}
EXTENSIONS = {FORMAT_PNG: "png", FORMAT_JPEG: "jpg", FORMAT_WEBP: "webp"}

MSG_EMPTY = "The file is empty. Choose the image again and re-upload it."
MSG_DAMAGED = "The file is damaged or incomplete. Export it again and re-upload it."
MSG_POLYGLOT = (
    "This file has extra data hidden after the picture, so we can't safely use it. "
    "Export it again as a plain PNG, JPEG or WebP image."
)
MSG_ANIMATED = "Animated images can't be used. Export a single still frame as PNG, JPEG or WebP."
MSG_MASK_NOTHING = "Paint the area you want to change first."
MSG_MASK_EVERYTHING = "The mask covers the whole image: use an instruction edit instead."

# Pillow raises a mixed bag when a file is corrupt or cut short.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, IndexError, TypeError)


class UploadRejected(ValueError):
    """An upload we refuse, with ``message`` in words a marketer can act on (shown next to the field)."""

    def __init__(self, message: str, *, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True, slots=True)
class CleanImage:
    """A validated image: re-encoded bytes without metadata, its real (upright) size and its format."""

    data: bytes
    width: int
    height: int
    format: str  # "PNG", "JPEG" or "WEBP"

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]


@dataclass(frozen=True, slots=True)
class _Structure:
    format: str
    width: int
    height: int
    animated: bool = False


# ---------------------------------------------------------------------------------------------- helpers


def _human_bytes(n: int) -> str:
    if n >= 1024 * 1024:
        value = n / (1024 * 1024)
        return f"{value:.0f} MB" if value == int(value) or value >= 10 else f"{value:.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} bytes"


def _human_pixels(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000} million pixels"
    if n >= 1_000_000 and n % 100_000 == 0:
        return f"{n / 1_000_000:.1f} million pixels"
    return f"{n:,} pixels"


def _configure_pillow() -> int:
    """Keep Pillow's own bomb guard in step with settings (tests and deployments may change them)."""
    limit = int(settings.IMPRIMATUR_MAX_IMAGE_PIXELS)
    Image.MAX_IMAGE_PIXELS = limit
    return limit


def describe_content(data: bytes) -> str | None:
    """Name what a non-image file looks like, for the refusal message (``None`` if we cannot tell)."""
    head = data[:2048]
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "a GIF image"
    if head.startswith(b"%PDF-"):
        return "a PDF document"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "a ZIP archive or Office document"
    if head.startswith(b"BM"):
        return "a BMP image"
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


def _sniff(data: bytes) -> str | None:
    if data.startswith(PNG_SIGNATURE):
        return FORMAT_PNG
    if data.startswith(JPEG_SIGNATURE):
        return FORMAT_JPEG
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return FORMAT_WEBP
    return None


def _only_padding(trailing: bytes) -> bool:
    return not trailing.strip(b"\x00")


# ---------------------------------------------------------------------------------- structure walkers
#
# These read lengths and markers only (no pixel decoding), so they cost microseconds per chunk and run
# before Pillow is asked to allocate anything.


def _walk_png(data: bytes) -> _Structure:
    n = len(data)
    pos = len(PNG_SIGNATURE)
    width = height = None
    animated = False
    first = True
    while True:
        if pos + 8 > n:
            raise UploadRejected(MSG_DAMAGED, code="truncated")
        length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
        if length > 0x7FFFFFFF:
            raise UploadRejected(MSG_DAMAGED, code="damaged")
        end = pos + 8 + length + 4
        if end > n:
            raise UploadRejected(MSG_DAMAGED, code="truncated")
        (crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(data[pos + 4 : pos + 8 + length]) & 0xFFFFFFFF != crc:
            raise UploadRejected(MSG_DAMAGED, code="damaged")
        if first:
            if ctype != b"IHDR" or length != 13:
                raise UploadRejected(MSG_DAMAGED, code="damaged")
            width, height = struct.unpack(">II", data[pos + 8 : pos + 16])
            first = False
        elif ctype == b"acTL":
            (frames,) = struct.unpack(">I", data[pos + 8 : pos + 12]) if length >= 4 else (1,)
            animated = frames > 1
        elif ctype == b"IEND":
            if not _only_padding(data[end:]):
                raise UploadRejected(MSG_POLYGLOT, code="polyglot")
            break
        pos = end
    if not width or not height:
        raise UploadRejected(MSG_DAMAGED, code="damaged")
    return _Structure(FORMAT_PNG, width, height, animated)


_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _skip_scan(data: bytes, pos: int) -> int:
    """Skip entropy-coded data after SOS; return the position of the next real marker's 0xFF."""
    n = len(data)
    while True:
        idx = data.find(b"\xff", pos)
        if idx == -1 or idx + 1 >= n:
            raise UploadRejected(MSG_DAMAGED, code="truncated")
        nxt = data[idx + 1]
        if nxt == 0x00 or 0xD0 <= nxt <= 0xD7:  # stuffed byte or restart marker: still scan data
            pos = idx + 2
        elif nxt == 0xFF:  # fill byte before a marker
            pos = idx + 1
        else:
            return idx


def _walk_jpeg(data: bytes) -> _Structure:
    n = len(data)
    pos = 2
    width = height = None
    while True:
        if pos >= n:
            raise UploadRejected(MSG_DAMAGED, code="truncated")
        if data[pos] != 0xFF:
            raise UploadRejected(MSG_DAMAGED, code="damaged")
        while pos < n and data[pos] == 0xFF:
            pos += 1
        if pos >= n:
            raise UploadRejected(MSG_DAMAGED, code="truncated")
        marker = data[pos]
        pos += 1
        if marker == 0xD9:  # EOI
            if not _only_padding(data[pos:]):
                raise UploadRejected(MSG_POLYGLOT, code="polyglot")
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            continue
        if marker == 0xD8:
            raise UploadRejected(MSG_DAMAGED, code="damaged")
        if pos + 2 > n:
            raise UploadRejected(MSG_DAMAGED, code="truncated")
        (seglen,) = struct.unpack(">H", data[pos : pos + 2])
        if seglen < 2:
            raise UploadRejected(MSG_DAMAGED, code="damaged")
        if pos + seglen > n:
            raise UploadRejected(MSG_DAMAGED, code="truncated")
        if marker in _JPEG_SOF and width is None:
            if seglen < 7:
                raise UploadRejected(MSG_DAMAGED, code="damaged")
            height, width = struct.unpack(">HH", data[pos + 3 : pos + 7])
        pos += seglen
        if marker == 0xDA:  # SOS: entropy-coded data follows until the next marker
            if width is None:
                raise UploadRejected(MSG_DAMAGED, code="damaged")
            pos = _skip_scan(data, pos)
    if not width or not height:
        raise UploadRejected(MSG_DAMAGED, code="damaged")
    return _Structure(FORMAT_JPEG, width, height)


def _walk_webp(data: bytes) -> _Structure:
    n = len(data)
    (riff_size,) = struct.unpack("<I", data[4:8])
    total = 8 + riff_size
    if riff_size < 4 or total > n:
        raise UploadRejected(MSG_DAMAGED, code="truncated")
    if not _only_padding(data[total:]):
        raise UploadRejected(MSG_POLYGLOT, code="polyglot")
    pos = 12
    width = height = None
    animated = False
    while pos < total:
        if pos + 8 > total:
            raise UploadRejected(MSG_DAMAGED, code="truncated")
        fourcc, size = struct.unpack("<4sI", data[pos : pos + 8])
        payload = data[pos + 8 : pos + 8 + size]
        if len(payload) < size:
            raise UploadRejected(MSG_DAMAGED, code="truncated")
        if width is None:
            if fourcc == b"VP8X" and size >= 10:
                animated = bool(payload[0] & 0x02)
                width = int.from_bytes(payload[4:7], "little") + 1
                height = int.from_bytes(payload[7:10], "little") + 1
            elif fourcc == b"VP8L" and size >= 5 and payload[0] == 0x2F:
                (bits,) = struct.unpack("<I", payload[1:5])
                width = (bits & 0x3FFF) + 1
                height = ((bits >> 14) & 0x3FFF) + 1
            elif fourcc == b"VP8 " and size >= 10 and payload[3:6] == b"\x9d\x01\x2a":
                width = struct.unpack("<H", payload[6:8])[0] & 0x3FFF
                height = struct.unpack("<H", payload[8:10])[0] & 0x3FFF
        if fourcc == b"ANIM":
            animated = True
        pos += 8 + size + (size & 1)
    if not width or not height:
        raise UploadRejected(MSG_DAMAGED, code="damaged")
    return _Structure(FORMAT_WEBP, width, height, animated)


_WALKERS = {FORMAT_PNG: _walk_png, FORMAT_JPEG: _walk_jpeg, FORMAT_WEBP: _walk_webp}


def _check_dimensions(width: int, height: int, *, max_pixels: int) -> None:
    pixels = width * height
    if pixels > max_pixels:
        raise UploadRejected(
            f"This image is {width}x{height} pixels; the largest we accept is {_human_pixels(max_pixels)}.",
            code="too_many_pixels",
        )
    if width > MAX_EDGE_PX or height > MAX_EDGE_PX:
        raise UploadRejected(
            f"This image is {width}x{height} pixels; the largest we accept is {MAX_EDGE_PX} pixels on each side.",
            code="too_wide",
        )


def _inspect(
    data: bytes, *, max_bytes: int, max_pixels: int, allowed: tuple[str, ...], wrong_type: tuple[str, str]
) -> _Structure:
    """Steps 1-5 of the module docstring: everything that needs no pixel decoding."""
    if not data:
        raise UploadRejected(MSG_EMPTY, code="empty")
    if len(data) > max_bytes:
        raise UploadRejected(
            f"This file is {_human_bytes(len(data))}; the largest we accept is {_human_bytes(max_bytes)}.",
            code="too_big",
        )
    fmt = _sniff(data)
    if fmt not in allowed:
        looks_like = {FORMAT_JPEG: "a JPEG photo", FORMAT_WEBP: "a WebP image"}.get(fmt) or describe_content(data)
        sentence, looks_phrase = wrong_type
        suffix = f" ({looks_phrase} {looks_like})" if looks_like else ""
        raise UploadRejected(f"{sentence}{suffix}.", code="wrong_type")
    structure = _WALKERS[fmt](data)
    _check_dimensions(structure.width, structure.height, max_pixels=max_pixels)
    if structure.animated:
        raise UploadRejected(MSG_ANIMATED, code="animated")
    return structure


def _decode(data: bytes, structure: _Structure) -> Image.Image:
    """Steps 6-7: Pillow verify + full load with the bomb warning promoted to an error."""
    _configure_pillow()
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=[structure.format]) as probe:
                probe.verify()
            im = Image.open(io.BytesIO(data), formats=[structure.format])
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


def _encode(im: Image.Image, fmt: str) -> bytes:
    """Re-encode without any metadata: only PNG transparency survives from ``info``."""
    transparency = im.info.get("transparency")
    im.info = {"transparency": transparency} if transparency is not None and fmt == FORMAT_PNG else {}
    buf = io.BytesIO()
    if fmt == FORMAT_JPEG:
        if im.mode not in ("RGB", "L"):
            im = im.convert("RGB")
        im.save(buf, format="JPEG", quality=95, subsampling=0, optimize=True)
    elif fmt == FORMAT_WEBP:
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
    structure = _inspect(
        data,
        max_bytes=max_bytes,
        max_pixels=limit,
        allowed=(FORMAT_PNG, FORMAT_JPEG, FORMAT_WEBP),
        wrong_type=("This file is not a PNG, JPEG or WebP image", "it looks like"),
    )
    im = _decode(data, structure)
    try:
        upright = ImageOps.exif_transpose(im)
    except _DECODE_ERRORS as exc:  # a malformed EXIF block: refuse rather than guess the orientation
        raise UploadRejected(MSG_DAMAGED, code="damaged") from exc
    finally:
        im.close()
    clean = _to_srgb(upright)
    encoded = _encode(clean, structure.format)
    return CleanImage(data=encoded, width=clean.width, height=clean.height, format=structure.format)


def validate_uploaded_file(upload, *, max_bytes: int | None = None, max_pixels: int | None = None) -> CleanImage:
    """:func:`validate_image_upload` for a Django ``UploadedFile``: refuses on ``upload.size`` before reading."""
    max_bytes = int(settings.IMPRIMATUR_MAX_UPLOAD_BYTES) if max_bytes is None else max_bytes
    size = getattr(upload, "size", None)
    if size is not None and size > max_bytes:
        raise UploadRejected(
            f"This file is {_human_bytes(size)}; the largest we accept is {_human_bytes(max_bytes)}.",
            code="too_big",
        )
    upload.seek(0)
    data = upload.read(max_bytes + 1)
    return validate_image_upload(data, max_bytes=max_bytes, max_pixels=max_pixels)


def validate_mask(data: bytes, *, width: int, height: int) -> bytes:
    """Check a mask for an edit of a ``width`` x ``height`` image; return normalized RGBA PNG bytes.

    The result is binary: alpha 0 where the image should change, 255 elsewhere (RGB black). Alpha below
    :data:`ALPHA_THRESHOLD` counts as painted, so soft brush edges are part of the painted area.

    Masks without an alpha channel: a ``tRNS`` transparent colour (palette or RGB) is honoured as alpha;
    otherwise the mask is read as a black-and-white matte, the common convention of other editing tools:
    **white (light) marks the area to change**, black keeps.
    """
    if not data:
        raise UploadRejected("The mask is empty. " + MSG_MASK_NOTHING, code="empty")
    if len(data) >= MASK_MAX_BYTES:
        raise UploadRejected(
            f"The mask file is {_human_bytes(len(data))}; masks must be smaller than 4 MB.", code="too_big"
        )
    structure = _inspect(
        data,
        max_bytes=MASK_MAX_BYTES - 1,
        max_pixels=int(settings.IMPRIMATUR_MAX_IMAGE_PIXELS),
        allowed=(FORMAT_PNG,),
        wrong_type=("The mask must be a PNG image", "this file looks like"),
    )
    if (structure.width, structure.height) != (width, height):
        raise UploadRejected(
            f"The mask is {structure.width}x{structure.height} pixels but the image is {width}x{height}; "
            "they must be the same size.",
            code="mask_size",
        )
    im = _decode(data, structure)
    with im:
        alpha = _mask_alpha(im)
    return _mask_png(alpha)


def _mask_alpha(im: Image.Image) -> Image.Image:
    """Return an ``L`` image where 0 = change, 255 = keep (before thresholding)."""
    if im.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        return im.getchannel("A")
    if "transparency" in im.info:
        return im.convert("RGBA").getchannel("A")
    grey = im.convert("L")
    return grey.point([255 - v for v in range(256)])  # white = change -> alpha 0


def _mask_png(alpha: Image.Image) -> bytes:
    binary = alpha.point([0] * ALPHA_THRESHOLD + [255] * (256 - ALPHA_THRESHOLD))
    low, high = binary.getextrema()
    if low == 255:
        raise UploadRejected(MSG_MASK_NOTHING, code="mask_empty")
    if high == 0:
        raise UploadRejected(MSG_MASK_EVERYTHING, code="mask_everything")
    black = Image.new("L", binary.size, 0)
    mask = Image.merge("RGBA", (black, black, black, binary))
    buf = io.BytesIO()
    mask.save(buf, format="PNG", optimize=True)
    out = buf.getvalue()
    if len(out) >= MASK_MAX_BYTES:
        raise UploadRejected(
            "The painted area is too detailed to send (the mask would be over 4 MB). Paint simpler shapes.",
            code="too_big",
        )
    return out


def mask_from_box(*, width: int, height: int, box: tuple[float, float, float, float]) -> bytes:
    """A mask (alpha 0 inside ``box``) for "fix this" on a region-pinned review comment.

    ``box`` is ``(x, y, w, h)`` in 0..1 image coordinates, exactly as ``approvals.Comment`` stores it.
    Any pixel the box touches is included (floor of the start, ceiling of the end), so a thin box still
    marks at least one pixel; the part of the box outside the image is clipped.
    """
    if not (0 < width <= MAX_EDGE_PX and 0 < height <= MAX_EDGE_PX):
        raise UploadRejected("The image size is not valid for a mask.", code="mask_size")
    x, y, w, h = (float(v) for v in box)
    if not all(math.isfinite(v) for v in (x, y, w, h)) or w <= 0 or h <= 0:
        raise UploadRejected("The marked area has no size. Draw a box around what should change.", code="bad_box")
    left, top = max(0.0, x), max(0.0, y)
    right, bottom = min(1.0, x + w), min(1.0, y + h)
    if left >= 1.0 or top >= 1.0 or right <= 0.0 or bottom <= 0.0 or right <= left or bottom <= top:
        raise UploadRejected("The marked area is outside the image.", code="bad_box")
    eps = 1e-9  # 0.2 + 0.4 is 0.6000000000000001 in floats: do not let that spill into the next pixel
    px0, py0 = min(width - 1, math.floor(left * width + eps)), min(height - 1, math.floor(top * height + eps))
    px1, py1 = max(px0 + 1, math.ceil(right * width - eps)), max(py0 + 1, math.ceil(bottom * height - eps))
    px1, py1 = min(width, px1), min(height, py1)
    alpha = Image.new("L", (width, height), 255)
    alpha.paste(0, (px0, py0, px1, py1))
    if (px0, py0, px1, py1) == (0, 0, width, height):
        raise UploadRejected(MSG_MASK_EVERYTHING, code="mask_everything")
    return _mask_png(alpha)


def decode_data_url(value: str, *, max_bytes: int, media_types: tuple[str, ...] = ("image/png",)) -> bytes:
    """Decode the painter's hidden input (``data:image/png;base64,...``), refusing oversize data *before*
    decoding it. Raises :class:`UploadRejected`; an empty value means nothing was painted."""
    value = (value or "").strip()
    if not value:
        raise UploadRejected(MSG_MASK_NOTHING, code="empty")
    if not value[:5].lower() == "data:" or "," not in value:
        raise UploadRejected("The mask could not be read: it was not sent as an image.", code="not_data_url")
    header, _, payload = value[5:].partition(",")
    parts = [p.strip().lower() for p in header.split(";")]
    media_type, params = parts[0], parts[1:]
    if media_type not in media_types:
        wanted = " or ".join(t.split("/")[1].upper() for t in media_types)
        raise UploadRejected(f"The mask must be a {wanted} image.", code="wrong_type")
    if "base64" not in params:
        raise UploadRejected("The mask could not be read: the data is not encoded as expected.", code="not_base64")
    if len(payload) > (max_bytes + 2) // 3 * 4 + 4:
        raise UploadRejected(
            f"The mask is too large (over {_human_bytes(max_bytes)}). Paint simpler shapes.", code="too_big"
        )
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UploadRejected("The mask could not be read: the data is damaged.", code="not_base64") from exc
    if not raw:
        raise UploadRejected(MSG_MASK_NOTHING, code="empty")
    if len(raw) > max_bytes:
        raise UploadRejected(
            f"The mask is too large (over {_human_bytes(max_bytes)}). Paint simpler shapes.", code="too_big"
        )
    return raw
