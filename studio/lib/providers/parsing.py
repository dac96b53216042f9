"""Turning a hosted image response into typed results, trusting nothing it says about the pixels.

Width, height and format are read from the decoded bytes with Pillow (``size=auto`` and silent resizes
mean the response's ``size`` field can be wrong); bytes that are not valid base64 or not a decodable
image raise ``MALFORMED`` so garbage is never stored as a variant.
"""

from __future__ import annotations

import base64
import binascii
import io
import warnings
from typing import Any

from django.conf import settings
from PIL import Image

from studio.lib.imaging.formats import STORED, by_pillow
from studio.lib.providers.base import ErrorKind, GeneratedImage, ProviderError, Usage

REQUEST_ID_HEADERS = ("x-request-id", "apim-request-id", "x-ms-request-id")


def _int(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


def parse_usage(usage: dict[str, Any] | None) -> Usage:
    """The API's ``usage`` object as ``Usage``. Cached input comes from ``input_tokens_details.cached_tokens``
    (split by ``cached_tokens_details`` when present; otherwise counted against text first, since the
    cacheable part of a request is the stable brand-style prefix of the prompt)."""
    usage = usage or {}
    details = usage.get("input_tokens_details") or {}
    text_in = _int(details.get("text_tokens"))
    image_in = _int(details.get("image_tokens"))
    if not details and usage.get("input_tokens"):
        text_in = _int(usage.get("input_tokens"))
    cached_total = _int(details.get("cached_tokens"))
    cached_details = details.get("cached_tokens_details") or {}
    if cached_details:
        cached_text = min(_int(cached_details.get("text_tokens")), text_in)
        cached_image = min(_int(cached_details.get("image_tokens")), image_in)
    else:
        cached_text = min(cached_total, text_in)
        cached_image = min(cached_total - cached_text, image_in)
    out_details = usage.get("output_tokens_details") or {}
    if out_details:
        out_image = _int(out_details.get("image_tokens"))
        out_text = _int(out_details.get("text_tokens"))
    else:
        out_image, out_text = _int(usage.get("output_tokens")), 0
    return Usage(
        input_text_tokens=text_in,
        input_image_tokens=image_in,
        cached_text_tokens=cached_text,
        cached_image_tokens=cached_image,
        output_image_tokens=out_image,
        output_text_tokens=out_text,
    )


def image_info(data: bytes) -> tuple[int, int, str]:
    """(width, height, format) of real image bytes, fully decoded, with the decompression-bomb guard on.
    Raises ``ProviderError(MALFORMED)`` for anything else."""
    width, height, fmt, _pixels = image_decoded(data)
    return width, height, fmt


def image_decoded(data: bytes) -> tuple[int, int, str, Image.Image]:
    """``image_info`` plus the decoded picture itself (checking the bytes means decoding them all: the
    caller may as well keep the result, e.g. for the thumbnail)."""
    limit = getattr(settings, "IMPRIMATUR_MAX_IMAGE_PIXELS", 40_000_000)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            width, height = img.size
            fmt = by_pillow(img.format, STORED)
            if width * height > limit:
                raise ProviderError(
                    f"The service sent an image of {width}x{height} pixels, more than the {limit:,} we accept.",
                    kind=ErrorKind.MALFORMED,
                    code="image_too_large",
                )
            img.load()
    except ProviderError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ProviderError(
            "The service sent something that is not a readable image; nothing was saved.",
            kind=ErrorKind.MALFORMED,
            code="not_an_image",
        ) from exc
    if fmt is None:
        raise ProviderError(
            "The service sent an image in a format we do not store (only PNG, JPEG and WebP).",
            kind=ErrorKind.MALFORMED,
            code="unsupported_format",
        )
    return width, height, fmt.name, img


def decode_image(b64: Any) -> GeneratedImage:
    if not isinstance(b64, str) or not b64:
        raise ProviderError(
            "The service answered without image data; nothing was saved.",
            kind=ErrorKind.MALFORMED,
            code="missing_image",
        )
    try:
        data = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProviderError(
            "The service sent image data that could not be decoded; nothing was saved.",
            kind=ErrorKind.MALFORMED,
            code="bad_base64",
        ) from exc
    width, height, fmt, pixels = image_decoded(data)
    return GeneratedImage(data=data, width=width, height=height, format=fmt, pixels=pixels)


def request_id_from(headers: Any) -> str:
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name) if headers is not None else None
        if value:
            return str(value)
    return ""


def _prompt_filters(payload: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    """Azure puts ``prompt_filter_results`` on each image (same for all) or at the top level as a list of
    ``{prompt_index, content_filter_results}``; normalise to one category -> result mapping."""
    for item in items:
        if isinstance(item.get("prompt_filter_results"), dict):
            return item["prompt_filter_results"]
    top = payload.get("prompt_filter_results")
    if isinstance(top, dict):
        return top
    if isinstance(top, list) and top and isinstance(top[0], dict):
        return top[0].get("content_filter_results") or {}
    return {}


def parse_images_response(payload: Any) -> tuple[list[GeneratedImage], Usage, dict[str, Any], dict[str, Any]]:
    """(images, usage, prompt_filter_results, meta) from a decoded ``ImagesResponse`` JSON body."""
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list) or not payload["data"]:
        raise ProviderError(
            "The service answered without any image; nothing was saved or charged.",
            kind=ErrorKind.MALFORMED,
            code="no_images",
        )
    items = [item for item in payload["data"] if isinstance(item, dict)]
    images = []
    for item in items:
        image = decode_image(item.get("b64_json"))
        filters = item.get("content_filter_results")
        if isinstance(filters, dict) and filters:
            image = GeneratedImage(
                data=image.data, width=image.width, height=image.height, format=image.format, filter_results=filters
            )
        images.append(image)
    usage = parse_usage(payload.get("usage") if isinstance(payload.get("usage"), dict) else None)
    meta = {
        key: payload[key] for key in ("created", "size", "quality", "output_format", "background") if key in payload
    }
    if isinstance(payload.get("usage"), dict):
        meta["usage"] = payload["usage"]
    return images, usage, _prompt_filters(payload, items), meta
