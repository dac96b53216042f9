"""The IPTC digital source type as XMP, for the tools that read XMP but not C2PA (DAMs, stock sites,
image editors). Written into the file's bytes without re-encoding its pixels: a PNG gets an ``iTXt``
chunk after ``IHDR``, a JPEG an ``APP1`` segment after ``SOI``. Other formats are returned unchanged."""

from __future__ import annotations

import re
import struct
import zlib
from xml.sax.saxutils import escape, quoteattr

from studio.lib.imaging.formats import JPEG, PNG, by_name

_PNG_XMP_KEYWORD = b"XML:com.adobe.xmp"
_JPEG_XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
_SOURCE_TYPE = re.compile(rb'Iptc4xmpExt:DigitalSourceType\s*=\s*"([^"]+)"')


def xmp_packet(*, digital_source_type: str, publisher: str, creator_tool: str = "Imprimatur") -> bytes:
    """An XMP packet naming the IPTC digital source type, the publisher and the tool."""
    packet = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '  <rdf:Description rdf:about=""\n'
        '    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"\n'
        '    xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        '    xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
        f"    Iptc4xmpExt:DigitalSourceType={quoteattr(digital_source_type)}\n"
        f"    xmp:CreatorTool={quoteattr(creator_tool)}>\n"
        f"   <dc:publisher><rdf:Bag><rdf:li>{escape(publisher)}</rdf:li></rdf:Bag></dc:publisher>\n"
        "  </rdf:Description>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    )
    return packet.encode("utf-8")


def _png_chunks(data: bytes):
    """(offset, type, body, end) for every chunk after the signature."""
    offset = len(PNG.magic)
    while offset + 12 <= len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        end = offset + 12 + length
        yield offset, kind, data[offset + 8 : offset + 8 + length], end
        offset = end
        if kind == b"IEND":
            return


def _png_with_xmp(data: bytes, packet: bytes) -> bytes:
    body = _PNG_XMP_KEYWORD + b"\x00\x00\x00\x00\x00" + packet  # no compression, no language, no translation
    chunk = struct.pack(">I", len(body)) + b"iTXt" + body + struct.pack(">I", zlib.crc32(b"iTXt" + body))
    parts = [PNG.magic]
    for offset, kind, chunk_body, end in _png_chunks(data):
        if kind == b"iTXt" and chunk_body.startswith(_PNG_XMP_KEYWORD + b"\x00"):
            continue  # the old packet is replaced, never duplicated
        parts.append(data[offset:end])
        if kind == b"IHDR":
            parts.append(chunk)
    return b"".join(parts)


def _jpeg_with_xmp(data: bytes, packet: bytes) -> bytes:
    payload = _JPEG_XMP_HEADER + packet
    if len(payload) + 2 > 0xFFFF:
        return data
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    insert_at = 2
    # keep a JFIF APP0 first (some readers insist), drop an older XMP APP1
    offset, kept = 2, [data[:2]]
    while offset + 4 <= len(data) and data[offset] == 0xFF and data[offset + 1] in (0xE0, 0xE1):
        (length,) = struct.unpack(">H", data[offset + 2 : offset + 4])
        end = offset + 2 + length
        is_xmp = data[offset + 1] == 0xE1 and data[offset + 4 : offset + 4 + len(_JPEG_XMP_HEADER)] == _JPEG_XMP_HEADER
        if not is_xmp:
            kept.append(data[offset:end])
        if data[offset + 1] == 0xE0:
            insert_at = len(kept)
        offset = end
    kept.insert(insert_at, segment)
    return b"".join(kept) + data[offset:]


def with_digital_source_type(data: bytes, *, file_format: str, digital_source_type: str, publisher: str) -> bytes:
    """``data`` with an XMP packet naming ``digital_source_type`` (PNG and JPEG; others unchanged)."""
    packet = xmp_packet(digital_source_type=digital_source_type, publisher=publisher)
    fmt = by_name(file_format)
    if fmt is PNG and data.startswith(PNG.magic):
        return _png_with_xmp(data, packet)
    if fmt is JPEG and data.startswith(b"\xff\xd8"):  # the SOI marker the APP1 segment goes after
        return _jpeg_with_xmp(data, packet)
    return data


def digital_source_type_in(data: bytes) -> str | None:
    """The IPTC digital source type an XMP packet in ``data`` declares, if any (what a DAM would read)."""
    match = _SOURCE_TYPE.search(data)
    return match.group(1).decode("utf-8") if match else None
