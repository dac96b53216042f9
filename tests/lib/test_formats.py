"""The one image-format table: every reader of MIME types, extensions and Pillow names agrees with it."""

from __future__ import annotations

import pytest

from studio.lib.imaging.formats import FORMATS, JPEG, PNG, STORED, WEBP, by_name, by_pillow, describe_content, sniff
from tests.contract.recording import image_bytes


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
def test_each_format_is_sniffed_from_pillows_own_output(fmt):
    data = image_bytes(8, 8, fmt.pillow)
    assert sniff(data) is fmt
    assert by_pillow(fmt.pillow) is fmt
    assert by_name(fmt.name) is fmt
    assert describe_content(data) == fmt.description


def test_names_aliases_and_what_we_store():
    assert by_name("JPG") is JPEG
    assert by_name("jpeg") is JPEG
    assert by_name("tiff") is None
    assert by_name("") is None
    assert by_name("gif", STORED) is None
    assert [f.mime for f in STORED] == ["image/png", "image/jpeg", "image/webp"]
    assert (PNG.extension, JPEG.extension, WEBP.extension) == ("png", "jpg", "webp")


def test_a_riff_file_is_webp_only_with_the_webp_form_type():
    assert sniff(b"RIFF\x10\x00\x00\x00WEBPVP8 ") is WEBP
    assert sniff(b"RIFF\x10\x00\x00\x00WAVEfmt ") is None
    assert describe_content(b"RIFF\x10\x00\x00\x00WAVEfmt ") == "a RIFF media file (audio or video)"
