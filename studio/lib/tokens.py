"""How many tokens an image request takes, before the service says: the one table of default counts.

Hosted image models bill output images in tokens that grow with the pixel count and the quality. Until
the product has recorded real usage for a model, estimates (``studio.generation.pricing``) and the
offline renderer's reported usage both start from these counts, scaled from a 1024x1024 reference.
Capability profiles may carry their own counts (``default_output_tokens``); this is the built-in table
they are seeded from (``studio.generation.catalog``).

No imports: the offline provider and the pricing arithmetic both read it.
"""

from __future__ import annotations

import math

REFERENCE_PIXELS = 1024 * 1024
CHARS_PER_TOKEN = 4
# Input image tokens per input image for edits when nothing better is known (a ~1 MP image in tiles).
INPUT_IMAGE_TOKENS = 1_500

# Output image tokens per 1024x1024-equivalent image by quality. gpt-image-1's published counts for
# low/medium/high (auto = medium); xhigh and max are extrapolations for the models that offer them.
BASE_QUALITIES = ("low", "medium", "high", "auto")
DEFAULT_OUTPUT_TOKENS: dict[str, int] = {
    "low": 272,
    "medium": 1056,
    "high": 4160,
    "auto": 1056,
    "xhigh": 8320,
    "max": 16640,
}


def output_tokens(per_reference: float, width: int, height: int) -> float:
    """Output image tokens for one ``width`` x ``height`` image, given the count for 1024x1024."""
    return float(per_reference) * width * height / REFERENCE_PIXELS


def prompt_tokens(prompt: str) -> int:
    """Text tokens of a prompt, by the usual four characters per token."""
    return math.ceil(len(prompt) / CHARS_PER_TOKEN)


def input_image_tokens(width: int, height: int) -> int:
    """Tile-style count for one input image (85 + 170 per 512-pixel tile), the shape hosted models use."""
    return 85 + 170 * math.ceil(width / 512) * math.ceil(height / 512)
