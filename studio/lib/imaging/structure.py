"""Walking an image file's own structure without decoding a pixel.

PNG chunks (with their CRCs), JPEG markers and entropy-coded scans, and the WebP RIFF container are read
by their lengths and markers only, so this costs microseconds per chunk and runs before Pillow is asked to
allocate anything. It yields the declared width and height, whether the image is animated, and where the
image really ends: anything but NUL padding after that end (PNG ``IEND``, JPEG ``EOI``, the RIFF length
of WebP) is a polyglot and refused.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from studio.lib.imaging.errors import MSG_DAMAGED, MSG_POLYGLOT, UploadRejected
from studio.lib.imaging.formats import JPEG, PNG, WEBP, ImageFormat


@dataclass(frozen=True, slots=True)
class Structure:
    """What the header says: the format, the declared size, and whether there is more than one frame."""

    format: ImageFormat
    width: int
    height: int
    animated: bool = False


def walk(data: bytes, fmt: ImageFormat) -> Structure:
    """The structure of ``data`` (already sniffed as ``fmt``, one of PNG, JPEG, WebP).

    Raises :class:`UploadRejected` for truncated, damaged or polyglot files."""
    return _WALKERS[fmt.name](data)


def _only_padding(trailing: bytes) -> bool:
    return not trailing.strip(b"\x00")


def _walk_png(data: bytes) -> Structure:
    n = len(data)
    pos = len(PNG.magic)
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
    return Structure(PNG, width, height, animated)


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


def _walk_jpeg(data: bytes) -> Structure:
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
    return Structure(JPEG, width, height)


def _walk_webp(data: bytes) -> Structure:
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
    return Structure(WEBP, width, height, animated)


_WALKERS = {PNG.name: _walk_png, JPEG.name: _walk_jpeg, WEBP.name: _walk_webp}
