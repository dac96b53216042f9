"""Pricing arithmetic without a database: plain rates in, quantised dollars out."""

from __future__ import annotations

from decimal import Decimal

from studio.lib.pricing import COST_QUANTUM, Rates, cost_of_usage, estimated_cost, pixel_class, planned_usage
from studio.lib.providers import Usage
from studio.lib.tokens import DEFAULT_OUTPUT_TOKENS, output_tokens, prompt_tokens

RATES = Rates(image_output=Decimal("30"), text_input=Decimal("5"), image_input=Decimal("8"))


def test_cost_needs_only_the_rates():
    assert cost_of_usage(Usage(output_image_tokens=1_000_000), RATES) == Decimal("30.000000")
    assert cost_of_usage({"output_image_tokens": 1}, RATES).as_tuple().exponent == COST_QUANTUM.as_tuple().exponent


def test_planned_usage_and_estimate():
    tokens = output_tokens(DEFAULT_OUTPUT_TOKENS["medium"], 1024, 1024)
    assert tokens == 1056
    usage = planned_usage(tokens_per_image=tokens, n=2, prompt="x" * 9, input_images=1)
    assert (usage.input_text_tokens, usage.input_image_tokens, usage.output_image_tokens) == (3, 1500, 2112)
    amount, per_image = estimated_cost(price=RATES, tokens_per_image=tokens, n=2, prompt="x" * 9, input_images=1)
    assert per_image == Decimal("0.031680")
    assert amount == Decimal("0.075375")  # 2112*30 + 3*5 + 1500*8, per million
    assert prompt_tokens("") == 0


def test_pixel_class_buckets_by_megapixel():
    assert pixel_class(300, 250) == 1
    assert pixel_class(1200, 628) == 1
    assert pixel_class(3840, 2160) == 8
