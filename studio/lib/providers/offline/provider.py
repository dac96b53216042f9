"""The offline provider: the ``ImageProvider`` interface over the local drawing code."""

from __future__ import annotations

import hashlib
import time

from PIL import Image, ImageOps

from studio.lib.imaging.formats import TRANSPARENT_FORMATS
from studio.lib.providers.base import (
    EditRequest,
    ErrorKind,
    GeneratedImage,
    GenerationRequest,
    ProviderError,
    ProviderResult,
    Usage,
)
from studio.lib.providers.offline.composition import (
    PALETTES,
    background,
    edit_masked,
    edit_whole,
    encode,
    mask_region,
    open_image,
    seeded_rng,
    shapes,
)
from studio.lib.providers.offline.prompt import split_prompt
from studio.lib.providers.offline.text import draw_caption, draw_copy, draw_label
from studio.lib.tokens import DEFAULT_OUTPUT_TOKENS, input_image_tokens, output_tokens, prompt_tokens


def _parse_size(size: str) -> tuple[int, int]:
    w, _, h = (size or "").lower().partition("x")
    if not (w.isdigit() and h.isdigit()) or int(w) < 16 or int(h) < 16 or int(w) * int(h) > 40_000_000:
        raise ProviderError(
            f"The offline renderer cannot draw at {size!r}; give a size like 1024x1024.",
            kind=ErrorKind.FATAL,
            code="invalid_size",
        )
    return int(w), int(h)


class OfflineProvider:
    """Draws images locally. ``deployment`` is optional; its profile's default token counts (if any) make
    offline usage match the estimates shown before launch."""

    label = "Offline renderer"

    def __init__(self, deployment=None) -> None:
        self.deployment = deployment

    def _output_tokens(self, quality: str, width: int, height: int) -> int:
        table = dict(DEFAULT_OUTPUT_TOKENS)
        profile = getattr(self.deployment, "profile", None)
        table.update(getattr(profile, "default_output_tokens", None) or {})
        per_reference = table.get(quality) or table.get("auto") or DEFAULT_OUTPUT_TOKENS["auto"]
        return max(1, round(output_tokens(per_reference, width, height)))

    def _usage(self, prompt: str, quality: str, width: int, height: int, n: int, image_tokens: int = 0) -> Usage:
        return Usage(
            input_text_tokens=max(1, prompt_tokens(prompt)),
            input_image_tokens=image_tokens,
            output_image_tokens=self._output_tokens(quality, width, height) * n,
        )

    def _result(
        self, images: list[GeneratedImage], usage: Usage, started: float, key: str, size: str
    ) -> ProviderResult:
        return ProviderResult(
            images=images,
            usage=usage,
            request_id=f"offline-{hashlib.sha256(key.encode()).hexdigest()[:16]}",
            latency_ms=int((time.monotonic() - started) * 1000),
            raw_meta={"size": size, "renderer": "offline"},
        )

    def render(
        self, *, prompt: str, width: int, height: int, seed: int, index: int, transparent: bool = False
    ) -> Image.Image:
        """One generated image (exposed for previews and tests)."""
        parts = split_prompt(prompt)
        look = seeded_rng("look", parts["body"] or prompt)
        palette = PALETTES[look.randrange(len(PALETTES))]
        rng = seeded_rng(prompt, f"{width}x{height}", seed, index)
        img = background(width, height, look if index == 0 else rng, palette, transparent)
        shapes(img, rng, palette)
        if parts["copy"]:
            draw_copy(img, parts["copy"], parts["locale"])
        draw_caption(img, parts["body"] or prompt, top_fraction=0.74, bottom_fraction=0.97, max_lines=5)
        draw_label(img, f"Offline preview · {width}x{height} · #{index + 1}")
        return img

    def generate(self, request: GenerationRequest) -> ProviderResult:
        started = time.monotonic()
        width, height = _parse_size(request.size)
        transparent = request.background == "transparent" and request.output_format in TRANSPARENT_FORMATS
        images = []
        for index in range(max(1, request.n)):
            img = self.render(
                prompt=request.prompt,
                width=width,
                height=height,
                seed=request.seed,
                index=index,
                transparent=transparent,
            )
            data, fmt = encode(img, request.output_format, request.output_compression)
            images.append(GeneratedImage(data=data, width=width, height=height, format=fmt))
        usage = self._usage(request.prompt, request.quality, width, height, len(images))
        return self._result(images, usage, started, f"{request.prompt}|{request.size}|{request.seed}", request.size)

    def edit(self, request: EditRequest) -> ProviderResult:
        started = time.monotonic()
        if not request.images:
            raise ProviderError("An edit needs an image to change.", kind=ErrorKind.FATAL, code="bad_images")
        width, height = _parse_size(request.size)
        parts = split_prompt(request.prompt)
        instruction = parts["instruction"] or parts["body"] or request.prompt
        originals = [
            open_image(data, "image" if i == 0 else f"reference image {i}") for i, data in enumerate(request.images)
        ]
        source = originals[0]
        base = ImageOps.fit(source.convert("RGB"), (width, height), method=Image.Resampling.LANCZOS)
        region = mask_region(request.mask, source, (width, height)) if request.mask is not None else None
        image_tokens = sum(input_image_tokens(img.width, img.height) for img in originals)
        images = []
        for index in range(max(1, request.n)):
            rng = seeded_rng("edit", instruction, request.size, request.seed, index)
            tint = PALETTES[rng.randrange(len(PALETTES))][rng.randrange(4)]
            if region is not None:
                out = edit_masked(base, region, tint, instruction)
            else:
                out = edit_whole(base, tint, instruction, parts, originals[1:])
            data, fmt = encode(out, request.output_format, request.output_compression)
            images.append(GeneratedImage(data=data, width=width, height=height, format=fmt))
        usage = self._usage(request.prompt, request.quality, width, height, len(images), image_tokens)
        key = f"{request.prompt}|{request.size}|{request.seed}|{hashlib.sha256(request.images[0]).hexdigest()}"
        return self._result(images, usage, started, key, request.size)
