"""Masks for edits: the image API's contract (PNG < 4 MB, same size as the image, alpha 0 = change here)."""

from __future__ import annotations

import base64
import io
import zlib

import pytest
from PIL import Image

from studio.lib import imaging as uploads  # the package re-exports MASK_MAX_BYTES and MSG_DAMAGED
from studio.lib.imaging import UploadRejected, decode_data_url, mask_from_box, validate_mask
from studio.lib.imaging.formats import PNG

W, H = 64, 48


def png(im: Image.Image, **kwargs) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG", **kwargs)
    return buf.getvalue()


def rgba_mask(painted_box=(10, 10, 30, 20), size=(W, H)) -> Image.Image:
    im = Image.new("RGBA", size, (0, 0, 0, 255))
    im.paste((0, 0, 0, 0), painted_box)
    return im


def alpha_of(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "PNG"
        assert im.mode == "RGBA"
        return im.getchannel("A").copy()


def alpha_values(alpha: Image.Image) -> set[int]:
    return {value for value, count in enumerate(alpha.histogram()) if count}


def refused(data: bytes, **kwargs) -> UploadRejected:
    with pytest.raises(UploadRejected) as info:
        validate_mask(data, width=kwargs.get("width", W), height=kwargs.get("height", H))
    return info.value


# ------------------------------------------------------------------------------------------ validate_mask


def test_valid_rgba_mask_is_normalized_to_binary_alpha():
    im = rgba_mask()
    im.putpixel((40, 30), (255, 0, 0, 100))  # a soft brush edge: counts as painted
    im.putpixel((41, 30), (255, 0, 0, 200))  # mostly opaque: kept
    alpha = alpha_of(validate_mask(png(im), width=W, height=H))
    assert alpha.size == (W, H)
    assert alpha_values(alpha) == {0, 255}
    assert alpha.getpixel((15, 15)) == 0
    assert alpha.getpixel((5, 5)) == 255
    assert alpha.getpixel((40, 30)) == 0
    assert alpha.getpixel((41, 30)) == 255


def test_wrong_size_says_both_sizes():
    error = refused(png(rgba_mask(size=(32, 32))))
    assert error.code == "mask_size"
    assert error.message == ("The mask is 32x32 pixels but the image is 64x48; they must be the same size.")


def test_rotated_size_is_also_wrong():
    assert refused(png(rgba_mask(painted_box=(1, 1, 5, 5), size=(H, W)))).code == "mask_size"


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_not_png_is_refused(fmt):
    buf = io.BytesIO()
    rgba_mask().convert("RGB" if fmt == "JPEG" else "RGBA").save(buf, format=fmt)
    error = refused(buf.getvalue())
    assert error.code == "wrong_type"
    assert error.message.startswith("The mask must be a PNG image (this file looks like a")


def test_svg_mask_is_refused():
    error = refused(b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    assert error.message == "The mask must be a PNG image (this file looks like an SVG drawing)."


def test_greyscale_without_alpha_reads_white_as_the_area_to_change():
    im = Image.new("L", (W, H), 0)
    im.paste(255, (0, 0, 16, 16))
    alpha = alpha_of(validate_mask(png(im), width=W, height=H))
    assert alpha.getpixel((4, 4)) == 0
    assert alpha.getpixel((40, 40)) == 255


def test_rgb_without_alpha_uses_the_same_black_and_white_rule():
    im = Image.new("RGB", (W, H), (0, 0, 0))
    im.paste((255, 255, 255), (32, 0, 64, 48))
    alpha = alpha_of(validate_mask(png(im), width=W, height=H))
    assert alpha.getpixel((50, 10)) == 0
    assert alpha.getpixel((10, 10)) == 255


def test_greyscale_with_alpha_uses_its_alpha_channel():
    im = Image.new("LA", (W, H), (255, 255))
    im.paste((255, 0), (0, 0, 8, 8))
    alpha = alpha_of(validate_mask(png(im), width=W, height=H))
    assert alpha.getpixel((2, 2)) == 0
    assert alpha.getpixel((20, 20)) == 255


def test_palette_with_transparent_index_is_honoured():
    im = Image.new("P", (W, H), 1)
    im.putpalette([0, 0, 0, 255, 255, 255])
    im.paste(0, (0, 0, 10, 10))
    alpha = alpha_of(validate_mask(png(im, transparency=0), width=W, height=H))
    assert alpha.getpixel((5, 5)) == 0
    assert alpha.getpixel((30, 30)) == 255


def test_nothing_painted():
    error = refused(png(Image.new("RGBA", (W, H), (0, 0, 0, 255))))
    assert error.code == "mask_empty"
    assert error.message == "Paint the area you want to change first."


def test_everything_painted():
    error = refused(png(Image.new("RGBA", (W, H), (0, 0, 0, 0))))
    assert error.code == "mask_everything"
    assert error.message == "The mask covers the whole image: use an instruction edit instead."


def test_mask_of_4_mb_or_more_is_refused_before_decoding(monkeypatch):
    monkeypatch.setattr(Image, "open", lambda *a, **k: pytest.fail("must not decode"))
    data = png(rgba_mask()) + b"\x00" * (4 * 1024 * 1024)
    error = refused(data)
    assert error.code == "too_big"
    assert "smaller than 4 MB" in error.message


def test_large_soft_edged_mask_is_accepted_and_binarized():
    from PIL import ImageDraw, ImageFilter

    alpha = Image.new("L", (2048, 2048), 255)
    ImageDraw.Draw(alpha).ellipse((300, 300, 1500, 1200), fill=0)
    alpha = alpha.filter(ImageFilter.GaussianBlur(6))  # soft brush edges, many alpha values
    black = Image.new("L", alpha.size, 0)
    out = validate_mask(png(Image.merge("RGBA", (black, black, black, alpha))), width=2048, height=2048)
    assert len(out) < uploads.MASK_MAX_BYTES
    assert alpha_values(alpha_of(out)) == {0, 255}
    assert alpha_of(out).getpixel((900, 750)) == 0
    assert alpha_of(out).getpixel((100, 100)) == 255


def test_truncated_mask_is_damaged():
    data = png(rgba_mask())
    assert refused(data[: len(data) // 2]).message == uploads.MSG_DAMAGED


def test_empty_bytes():
    error = refused(b"")
    assert error.code == "empty"
    assert "Paint the area you want to change first." in error.message


def test_mask_with_a_huge_declared_size_is_refused_without_decoding():
    ihdr = (100_000).to_bytes(4, "big") * 2 + bytes([8, 6, 0, 0, 0])
    data = PNG.magic + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\x00")) + _chunk(b"IEND", b"")
    assert refused(data).code == "too_many_pixels"


def _chunk(ctype: bytes, payload: bytes) -> bytes:
    return (
        len(payload).to_bytes(4, "big")
        + ctype
        + payload
        + (zlib.crc32(ctype + payload) & 0xFFFFFFFF).to_bytes(4, "big")
    )


# ------------------------------------------------------------------------------------------ mask_from_box


def transparent_pixels(data: bytes) -> set[tuple[int, int]]:
    alpha = alpha_of(data)
    return {(x, y) for y in range(alpha.height) for x in range(alpha.width) if alpha.getpixel((x, y)) == 0}


def test_box_alpha_is_zero_exactly_inside_the_box():
    data = mask_from_box(width=100, height=50, box=(0.1, 0.2, 0.3, 0.4))
    expected = {(x, y) for x in range(10, 40) for y in range(10, 30)}
    assert transparent_pixels(data) == expected
    alpha = alpha_of(data)
    assert alpha.size == (100, 50)
    assert alpha_values(alpha) == {0, 255}


def test_box_edges_that_cut_through_a_pixel_include_it():
    # x from 10.5 px to 12.5 px, y from 0.5 to 1.5: pixels 10..12 x 0..1 are touched.
    data = mask_from_box(width=100, height=10, box=(0.105, 0.05, 0.02, 0.1))
    assert transparent_pixels(data) == {(x, y) for x in (10, 11, 12) for y in (0, 1)}


def test_a_hairline_box_still_marks_one_pixel():
    assert transparent_pixels(mask_from_box(width=20, height=20, box=(0.5, 0.5, 1e-9, 1e-9))) == {(10, 10)}


def test_box_overflowing_the_image_is_clipped():
    data = mask_from_box(width=10, height=10, box=(0.8, 0.8, 0.5, 0.5))
    assert transparent_pixels(data) == {(x, y) for x in (8, 9) for y in (8, 9)}


def test_mask_from_box_passes_validate_mask():
    data = mask_from_box(width=W, height=H, box=(0.25, 0.25, 0.5, 0.5))
    assert validate_mask(data, width=W, height=H) == data


@pytest.mark.parametrize(
    ("box", "code"),
    [
        ((0, 0, 1, 1), "mask_everything"),
        ((0.2, 0.2, 0, 0.3), "bad_box"),
        ((0.2, 0.2, -0.1, 0.3), "bad_box"),
        ((1.0, 0.2, 0.1, 0.1), "bad_box"),
        ((float("nan"), 0.2, 0.1, 0.1), "bad_box"),
    ],
)
def test_bad_boxes(box, code):
    with pytest.raises(UploadRejected) as info:
        mask_from_box(width=W, height=H, box=box)
    assert info.value.code == code


# ------------------------------------------------------------------------------------------ decode_data_url


def data_url(raw: bytes, media="image/png") -> str:
    return f"data:{media};base64,{base64.b64encode(raw).decode()}"


def test_decodes_the_painters_data_url():
    raw = png(rgba_mask())
    assert decode_data_url(data_url(raw), max_bytes=uploads.MASK_MAX_BYTES) == raw
    assert (
        decode_data_url(
            "  " + data_url(raw).replace("data:image/png", "DATA:Image/PNG") + "\n", max_bytes=uploads.MASK_MAX_BYTES
        )
        == raw
    )


@pytest.mark.parametrize(
    ("value", "code", "message"),
    [
        ("", "empty", "Paint the area you want to change first."),
        ("   ", "empty", "Paint the area you want to change first."),
        ("iVBORw0KGgo=", "not_data_url", "The mask could not be read: it was not sent as an image."),
        ("https://example.com/mask.png", "not_data_url", "The mask could not be read: it was not sent as an image."),
        ("data:image/jpeg;base64,/9j/4AAQ", "wrong_type", "The mask must be a PNG image."),
        ("data:text/html;base64,PGgxPg==", "wrong_type", "The mask must be a PNG image."),
        ("data:image/png,%89PNG", "not_base64", "The mask could not be read: the data is not encoded as expected."),
        ("data:image/png;base64,iVBO***nope***", "not_base64", "The mask could not be read: the data is damaged."),
        ("data:image/png;base64,iVBORw0KGgo", "not_base64", "The mask could not be read: the data is damaged."),
        ("data:image/png;base64,", "empty", "Paint the area you want to change first."),
    ],
)
def test_data_url_errors(value, code, message):
    with pytest.raises(UploadRejected) as info:
        decode_data_url(value, max_bytes=1024)
    assert (info.value.code, info.value.message) == (code, message)


def test_oversize_data_url_is_refused_before_decoding(monkeypatch):
    monkeypatch.setattr(base64, "b64decode", lambda *a, **k: pytest.fail("must not decode"))
    with pytest.raises(UploadRejected) as info:
        decode_data_url(data_url(b"\x00" * 5000), max_bytes=1024)
    assert info.value.code == "too_big"
    assert "over 1 KB" in info.value.message


def test_data_url_exactly_at_the_limit_is_accepted():
    assert len(decode_data_url(data_url(b"\x01" * 1024), max_bytes=1024)) == 1024
    with pytest.raises(UploadRejected):
        decode_data_url(data_url(b"\x01" * 1025), max_bytes=1024)
