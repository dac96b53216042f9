"""validate_image_upload: decides by content, bounds the work before decoding, returns clean upright pixels."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageCms, PngImagePlugin

from studio.lib.imaging import UploadRejected, uploads, validate_image_upload, validate_uploaded_file
from studio.lib.imaging.formats import PNG

# ------------------------------------------------------------------------------------------- builders


def encode(im: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def two_tone(size=(40, 20)) -> Image.Image:
    """Left half red, right half blue: orientation mistakes are visible."""
    im = Image.new("RGB", size, (220, 20, 20))
    im.paste((20, 20, 220), (size[0] // 2, 0, size[0], size[1]))
    return im


def chunk(ctype: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + ctype + payload + struct.pack(">I", zlib.crc32(ctype + payload))


def raw_png(width: int, height: int, idat: bytes, *, colour_type: int = 0) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return PNG.magic + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def bomb_png(side: int) -> bytes:
    """A real, complete greyscale PNG of side x side black pixels: tiny on disk, huge in memory."""
    comp = zlib.compressobj(9)
    row = b"\x00" * (side + 1)  # filter byte + pixels
    parts = [comp.compress(row) for _ in range(side)]
    parts.append(comp.flush())
    return raw_png(side, side, b"".join(parts))


def rejected(data: bytes, **kwargs) -> UploadRejected:
    with pytest.raises(UploadRejected) as info:
        validate_image_upload(data, **kwargs)
    return info.value


# ------------------------------------------------------------------------------------------- accepted


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_accepts_real_images_in_their_own_format(fmt):
    clean = validate_image_upload(encode(two_tone((64, 48)), fmt))
    assert (clean.width, clean.height, clean.format) == (64, 48, fmt)
    with Image.open(io.BytesIO(clean.data)) as out:
        assert out.format == fmt
        assert out.size == (64, 48)
        left, right = out.convert("RGB").getpixel((5, 24)), out.convert("RGB").getpixel((58, 24))
    assert left[0] > 180 > left[2]
    assert right[2] > 180 > right[0]


def test_png_transparency_survives_and_pixels_are_exact():
    im = Image.new("RGBA", (16, 16), (10, 200, 30, 0))
    im.paste((1, 2, 3, 255), (0, 0, 8, 16))
    clean = validate_image_upload(encode(im, "PNG"))
    with Image.open(io.BytesIO(clean.data)) as out:
        assert out.mode == "RGBA"
        assert out.getpixel((2, 2)) == (1, 2, 3, 255)
        assert out.getpixel((12, 2))[3] == 0


def test_progressive_jpeg_and_lossy_webp_are_accepted():
    assert validate_image_upload(encode(two_tone(), "JPEG", progressive=True)).format == "JPEG"
    assert validate_image_upload(encode(two_tone(), "WEBP", quality=70)).format == "WEBP"


def test_cmyk_jpeg_comes_back_as_rgb():
    clean = validate_image_upload(encode(Image.new("CMYK", (20, 20), (0, 255, 255, 0)), "JPEG"))
    with Image.open(io.BytesIO(clean.data)) as out:
        assert out.mode == "RGB"
        r, g, b = out.getpixel((10, 10))
    assert r > 200
    assert max(g, b) < 60


# ------------------------------------------------------------------------------------- wrong content


@pytest.mark.parametrize(
    ("data", "looks_like"),
    [
        (
            b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "an SVG drawing",
        ),
        (b"  <svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>", "an SVG drawing"),
        (b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>", "an HTML web page"),
        (b"%PDF-1.7\n1 0 obj << >> endobj\n", "a PDF document"),
        (b"PK\x03\x04" + b"\x00" * 40, "a ZIP archive"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "an HEIC photo"),
    ],
)
def test_rejects_other_formats_by_content_and_says_what_they_look_like(data, looks_like):
    error = rejected(data)
    assert error.code == "wrong_type"
    assert error.message.startswith("This file is not a PNG, JPEG or WebP image (it looks like ")
    assert looks_like in error.message


def test_rejects_a_real_gif():
    error = rejected(encode(Image.new("P", (8, 8)), "GIF"))
    assert error.message == "This file is not a PNG, JPEG or WebP image (it looks like a GIF image)."


def test_name_and_declared_content_type_are_ignored_text_named_png_is_refused():
    upload = SimpleUploadedFile("photo.png", b"just some notes, not a picture\n", content_type="image/png")
    with pytest.raises(UploadRejected) as info:
        validate_uploaded_file(upload)
    assert "it looks like a text file" in info.value.message


def test_png_signature_with_garbage_after_it_is_damaged_not_accepted():
    error = rejected(PNG.magic + b"<html>hello</html>")
    assert error.message == uploads.MSG_DAMAGED


# --------------------------------------------------------------------------------- broken or empty


def test_zero_bytes():
    error = rejected(b"")
    assert error.code == "empty"
    assert "empty" in error.message


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_truncated_files_are_damaged_or_incomplete(fmt, keep):
    noisy = Image.effect_noise((96, 96), 60).convert("RGB")  # noise: the image data fills the file
    data = encode(noisy, fmt)
    error = rejected(data[: int(len(data) * keep)])
    assert error.message == "The file is damaged or incomplete. Export it again and re-upload it."


def test_corrupted_png_data_fails_its_checksum():
    data = bytearray(encode(Image.effect_noise((32, 32), 50), "PNG"))
    idat = data.index(b"IDAT")
    data[idat + 20] ^= 0xFF
    assert rejected(bytes(data)).code == "damaged"


def test_animated_png_is_refused():
    frames = [Image.new("RGB", (8, 8), c) for c in ("red", "blue")]
    buf = io.BytesIO()
    frames[0].save(buf, format="PNG", save_all=True, append_images=frames[1:])
    assert rejected(buf.getvalue()).code == "animated"


# ------------------------------------------------------------------------------------- size limits


def test_oversize_bytes_are_refused_before_anything_else(settings):
    settings.IMPRIMATUR_MAX_UPLOAD_BYTES = 2048
    data = encode(Image.effect_noise((64, 64), 60), "PNG")
    assert len(data) > 2048
    error = rejected(data)
    assert error.code == "too_big"
    assert "the largest we accept is 2 KB" in error.message
    assert rejected(data, max_bytes=100).code == "too_big"


def test_uploaded_file_too_big_is_refused_from_its_size_without_reading(settings):
    settings.IMPRIMATUR_MAX_UPLOAD_BYTES = 20 * 1024 * 1024

    class HugeUpload(io.BytesIO):
        size = 25 * 1024 * 1024

        def read(self, *args):
            raise AssertionError("must not read an oversize upload")

    with pytest.raises(UploadRejected) as info:
        validate_uploaded_file(HugeUpload())
    assert info.value.message == "This file is 25 MB; the largest we accept is 20 MB."


def test_huge_dimensions_declared_in_the_header_are_refused_before_decoding(monkeypatch):
    data = raw_png(100_000, 100_000, zlib.compress(b"\x00" * 64))
    assert len(data) < 200

    def no_decoding(*args, **kwargs):
        raise AssertionError("Pillow must not be asked to open this")

    monkeypatch.setattr(uploads.Image, "open", no_decoding)
    error = rejected(data)
    assert error.code == "too_many_pixels"
    assert error.message == "This image is 100000x100000 pixels; the largest we accept is 40 million pixels."


def test_an_edge_longer_than_16384_is_refused_even_with_few_pixels():
    error = rejected(raw_png(20_000, 10, zlib.compress(b"\x00" * 64)))
    assert error.code == "too_wide"
    assert "16384 pixels on each side" in error.message


def test_decompression_bomb_small_file_over_the_pixel_limit():
    data = bomb_png(7000)  # 49 million pixels, about 50 KB
    assert len(data) < 100_000
    error = rejected(data)
    assert error.message == "This image is 7000x7000 pixels; the largest we accept is 40 million pixels."


def test_max_pixels_tightens_the_limit():
    data = encode(Image.new("RGB", (100, 100)), "PNG")
    assert rejected(data, max_pixels=5000).code == "too_many_pixels"
    assert validate_image_upload(data, max_pixels=10_000).width == 100


def test_pillow_guard_is_a_second_line_with_its_warning_as_an_error(monkeypatch):
    """If the header check ever let a bomb through, Pillow's guard (set from settings) still refuses it:
    49 million pixels only *warns* in Pillow (the error starts at twice the limit); we make it an error."""
    monkeypatch.setattr(uploads, "_check_dimensions", lambda *a, **k: None)
    error = rejected(bomb_png(7000))
    assert error.code == "decompression_bomb"
    assert Image.MAX_IMAGE_PIXELS == 40_000_000


# ------------------------------------------------------------------------------------------ polyglots


@pytest.mark.parametrize(
    "tail",
    [b"<html><script>alert(document.cookie)</script></html>", b"PK\x03\x04" + b"\x14" * 60],
    ids=["html", "zip"],
)
def test_png_with_data_after_iend_is_refused(tail):
    error = rejected(encode(two_tone(), "PNG") + tail)
    assert error.code == "polyglot"
    assert "extra data hidden after the picture" in error.message


def test_jpeg_with_a_file_after_eoi_is_refused():
    error = rejected(encode(two_tone(), "JPEG") + b"PK\x03\x04 motion photo video or zip" * 4)
    assert error.code == "polyglot"


def test_webp_with_data_after_the_riff_container_is_refused():
    assert rejected(encode(two_tone(), "WEBP") + b"<html></html>").code == "polyglot"


def test_exif_thumbnail_jpeg_inside_a_jpeg_is_not_a_polyglot():
    """An EXIF block holds a whole thumbnail JPEG (with its own end marker): that is normal."""
    exif = Image.Exif()
    exif[0x010F] = "Camera"
    inner = encode(Image.new("RGB", (16, 16), "green"), "JPEG")
    app1 = b"Exif\x00\x00" + exif.tobytes()[6:] + inner
    data = encode(two_tone(), "JPEG")
    data = data[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + data[2:]
    assert validate_image_upload(data).format == "JPEG"


def test_nul_padding_after_the_end_is_tolerated():
    assert validate_image_upload(encode(two_tone(), "JPEG") + b"\x00" * 32).format == "JPEG"
    assert validate_image_upload(encode(two_tone(), "PNG") + b"\x00" * 4).format == "PNG"


# ------------------------------------------------------------------------------- orientation, metadata


def test_exif_orientation_is_applied():
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: viewers rotate 90 degrees clockwise
    clean = validate_image_upload(encode(two_tone((40, 20)), "JPEG", exif=exif.tobytes(), quality=95))
    assert (clean.width, clean.height) == (20, 40)
    with Image.open(io.BytesIO(clean.data)) as out:
        top, bottom = out.getpixel((10, 3)), out.getpixel((10, 36))
        assert out.getexif().get(0x0112) is None
    assert top[0] > 180 > top[2], "the left (red) half must end up on top"
    assert bottom[2] > 180 > bottom[0]


def test_jpeg_metadata_is_stripped():
    exif = Image.Exif()
    exif[0x013B] = "Jane Photographer"  # Artist
    exif[0x010F] = "SecretCam"  # Make
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    data = encode(two_tone(), "JPEG", exif=exif.tobytes(), icc_profile=icc, comment=b"internal note", xmp=xmp)
    with Image.open(io.BytesIO(data)) as original:
        assert original.getexif()
        assert {"icc_profile", "comment"} <= set(original.info)
    clean = validate_image_upload(data)
    with Image.open(io.BytesIO(clean.data)) as out:
        assert len(out.getexif()) == 0
        assert not {"exif", "icc_profile", "comment", "xmp"} & set(out.info)
    assert b"Jane Photographer" not in clean.data
    assert b"SecretCam" not in clean.data
    assert b"internal note" not in clean.data


def test_png_text_exif_and_icc_chunks_are_stripped():
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "draft for client X")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>secret</x:xmpmeta>")
    exif = Image.Exif()
    exif[0x013B] = "Jane Photographer"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(two_tone(), "PNG", pnginfo=info, exif=exif.tobytes(), icc_profile=icc)
    clean = validate_image_upload(data)
    for marker in (b"tEXt", b"iTXt", b"eXIf", b"iCCP", b"draft for client X", b"Jane Photographer"):
        assert marker not in clean.data
    with Image.open(io.BytesIO(clean.data)) as out:
        assert len(out.getexif()) == 0


def test_webp_metadata_is_stripped():
    exif = Image.Exif()
    exif[0x013B] = "Jane Photographer"
    data = encode(two_tone(), "WEBP", exif=exif.tobytes())
    assert b"Jane Photographer" in data
    clean = validate_image_upload(data)
    assert b"Jane Photographer" not in clean.data
    assert b"EXIF" not in clean.data


def test_clean_image_reports_content_type_and_extension():
    clean = validate_image_upload(encode(two_tone(), "JPEG"))
    assert (clean.content_type, clean.extension) == ("image/jpeg", "jpg")
