"""The offline renderer: exact sizes, determinism, visible text, edits that respect the mask, fast."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image, ImageChops, ImageDraw

from studio.generation.catalog import builtin_profile
from studio.generation.models import Deployment
from studio.lib.providers import EditRequest, ErrorKind, GenerationRequest, OfflineProvider, ProviderError
from studio.lib.providers.offline import offline_font_coverage, offline_missing_scripts, script_of, split_prompt

PROMPT = (
    'Brand style: Warm natural light.\n\nA sunlit kitchen with a bowl of lemons\n\nIn-image text (ja): "春の新作、登場"'
)


def open_image(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


@pytest.fixture
def provider():
    return OfflineProvider()


@pytest.mark.parametrize("size", ["1216x640", "960x800", "1024x1536", "3840x1280"])
def test_images_are_exactly_the_requested_size(provider, size):
    result = provider.generate(GenerationRequest(prompt=PROMPT, size=size, seed=7))
    width, height = map(int, size.split("x"))
    image = result.images[0]
    assert (image.width, image.height) == (width, height)
    assert open_image(image.data).size == (width, height)


def test_deterministic_for_prompt_size_seed_and_different_per_index(provider):
    request = GenerationRequest(prompt=PROMPT, size="1024x1024", seed=3, n=3)
    first, again = provider.generate(request), provider.generate(request)
    assert [i.data for i in first.images] == [i.data for i in again.images]
    assert len({i.data for i in first.images}) == 3
    other_seed = provider.generate(GenerationRequest(prompt=PROMPT, size="1024x1024", seed=4))
    assert other_seed.images[0].data != first.images[0].data


def test_output_format_is_honoured(provider):
    for fmt, pil in (("jpeg", "JPEG"), ("webp", "WEBP"), ("png", "PNG")):
        result = provider.generate(GenerationRequest(prompt="A lemon", size="1024x640", output_format=fmt))
        assert result.images[0].format == fmt
        assert open_image(result.images[0].data).format == pil


def test_transparent_background_has_alpha(provider):
    result = provider.generate(GenerationRequest(prompt="A lemon", size="1024x640", background="transparent"))
    img = open_image(result.images[0].data)
    assert img.mode == "RGBA"
    assert img.getchannel("A").getextrema()[0] == 0


def test_locale_copy_changes_the_picture(provider):
    with_copy = provider.generate(GenerationRequest(prompt=PROMPT, size="1024x1024"))
    other = provider.generate(
        GenerationRequest(prompt=PROMPT.replace("春の新作、登場", "वसंत का नया संग्रह"), size="1024x1024")
    )
    diff = ImageChops.difference(
        open_image(with_copy.images[0].data).convert("RGB"), open_image(other.images[0].data).convert("RGB")
    )
    assert diff.getbbox() is not None


def test_prompt_parts_are_recognised():
    parts = split_prompt(PROMPT + "\n\nEdit: Make the sky warmer")
    assert parts["copy"] == "春の新作、登場"
    assert parts["locale"] == "ja"
    assert parts["instruction"] == "Make the sky warmer"
    assert parts["body"] == "A sunlit kitchen with a bowl of lemons"
    assert script_of("春") == "CJK"
    assert script_of("हिंदी") == "Devanagari"
    assert script_of("Hello") == "Latin"


def test_font_coverage_is_described():
    text = offline_font_coverage()
    assert isinstance(text, str)
    assert text
    if not offline_missing_scripts():
        assert "CJK" in text
        assert "Indic" in text
    else:
        assert "install fonts-noto" in text


def test_usage_has_the_hosted_shape_and_scales_with_pixels_and_n(provider):
    small = provider.generate(GenerationRequest(prompt="A lemon", size="1024x1024", quality="medium"))
    big = provider.generate(GenerationRequest(prompt="A lemon", size="2048x2048", quality="medium", n=2))
    assert small.usage.output_image_tokens == 1056
    assert big.usage.output_image_tokens == 1056 * 4 * 2
    assert small.usage.input_text_tokens > 0
    assert small.request_id.startswith("offline-")


def test_usage_follows_the_deployments_profile():
    profile = builtin_profile("gpt-image-2")
    profile.default_output_tokens = {"medium": 2000}
    provider = OfflineProvider(Deployment(name="o", provider="offline", model="m", profile=profile))
    result = provider.generate(GenerationRequest(prompt="A lemon", size="1024x1024", quality="medium"))
    assert result.usage.output_image_tokens == 2000


def _mask(size, box) -> bytes:
    mask = Image.new("RGBA", size, (0, 0, 0, 255))
    ImageDraw.Draw(mask).rectangle(box, fill=(0, 0, 0, 0))
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG")
    return buffer.getvalue()


def test_masked_edit_changes_only_the_masked_region(provider):
    base = provider.generate(GenerationRequest(prompt=PROMPT, size="1024x1024")).images[0].data
    box = (100, 600, 500, 900)
    result = provider.edit(
        EditRequest(
            prompt=PROMPT + "\n\nEdit: Replace the table with white marble",
            images=[base],
            size="1024x1024",
            mask=_mask((1024, 1024), box),
        )
    )
    diff = ImageChops.difference(open_image(base).convert("RGB"), open_image(result.images[0].data).convert("RGB"))
    changed = diff.getbbox()
    assert changed is not None
    assert changed[0] >= box[0]
    assert changed[1] >= box[1]
    assert changed[2] <= box[2] + 1
    assert changed[3] <= box[3] + 1
    assert result.usage.input_image_tokens > 0


def test_unmasked_edit_changes_the_whole_image(provider):
    base = provider.generate(GenerationRequest(prompt="A lemon", size="1024x640")).images[0].data
    reference = provider.generate(GenerationRequest(prompt="A lime", size="1024x640")).images[0].data
    result = provider.edit(
        EditRequest(prompt="A lemon\n\nEdit: Make it evening", images=[base, reference], size="1024x640")
    )
    diff = ImageChops.difference(open_image(base).convert("RGB"), open_image(result.images[0].data).convert("RGB"))
    assert diff.getbbox() == (0, 0, 1024, 640) or diff.getbbox()[2] - diff.getbbox()[0] > 900


def test_edit_output_is_the_requested_size_even_from_another_size(provider):
    base = provider.generate(GenerationRequest(prompt="A lemon", size="1024x640")).images[0].data
    result = provider.edit(EditRequest(prompt="Edit: brighter", images=[base], size="1216x640"))
    assert open_image(result.images[0].data).size == (1216, 640)


def test_mask_of_another_size_is_refused_like_the_hosted_api(provider):
    base = provider.generate(GenerationRequest(prompt="A lemon", size="1024x640")).images[0].data
    with pytest.raises(ProviderError) as caught:
        provider.edit(
            EditRequest(prompt="Edit: x", images=[base], size="1024x640", mask=_mask((64, 64), (0, 0, 10, 10)))
        )
    assert caught.value.kind == ErrorKind.FATAL


def test_fast_enough_for_one_core(provider):
    provider.generate(GenerationRequest(prompt=PROMPT, size="1024x1024"))  # fonts loaded once per process
    timings = []
    for seed in range(5):
        started = time.perf_counter()
        provider.generate(GenerationRequest(prompt=PROMPT, size="1024x1024", seed=seed))
        timings.append(time.perf_counter() - started)
    assert sorted(timings)[2] < 0.150
