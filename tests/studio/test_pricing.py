"""Prices as dated data, costs from usage, and estimates calibrated from recorded usage."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from studio.generation.models import JobStatus
from studio.generation.pricing import PriceNotFound, estimate_job_cost, price_for
from studio.lib.pricing import cost_of_usage
from studio.lib.providers import Usage
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_newest_effective_row_applies_and_future_rows_do_not():
    f.PriceTableFactory(effective_from=dt.date(2026, 1, 1), image_output=Decimal("20"))
    f.PriceTableFactory(effective_from=dt.date(2026, 4, 21), image_output=Decimal("30"))
    f.PriceTableFactory(effective_from=dt.date(2099, 1, 1), image_output=Decimal("99"))
    assert price_for(model_name="gpt-image-2", on=dt.date(2026, 3, 1)).image_output == 20
    assert price_for(model_name="gpt-image-2", on=dt.date(2026, 11, 1)).image_output == 30


def test_provider_specific_row_beats_blank_provider():
    f.PriceTableFactory(provider="", effective_from=dt.date(2026, 6, 1), image_output=Decimal("30"))
    f.PriceTableFactory(provider="azure-openai", effective_from=dt.date(2026, 4, 21), image_output=Decimal("28"))
    on = dt.date(2026, 11, 1)
    assert price_for(model_name="gpt-image-2", provider="azure-openai", on=on).image_output == 28
    assert price_for(model_name="gpt-image-2", provider="openai", on=on).image_output == 30


def test_missing_price_says_what_to_add():
    with pytest.raises(PriceNotFound) as caught:
        price_for(model_name="gpt-image-9")
    assert "an admin needs to add one" in str(caught.value)


def test_cost_prices_every_kind_and_cached_tokens_as_cached(price_table):
    usage = Usage(
        input_text_tokens=1_000_000,
        cached_text_tokens=400_000,
        input_image_tokens=500_000,
        cached_image_tokens=100_000,
        output_image_tokens=1_000_000,
        output_text_tokens=100_000,
    )
    # text: 0.6M*5 + 0.4M*1.25 = 3.5; image in: 0.4M*8 + 0.1M*2 = 3.4; out: 30 + 0.1M*10 = 31
    assert cost_of_usage(usage, price_table) == Decimal("37.900000")
    assert cost_of_usage(usage.as_dict(), price_table) == Decimal("37.900000")


def test_cost_accepts_the_apis_own_usage_object(price_table):
    api_usage = {
        "input_tokens": 100,
        "input_tokens_details": {"text_tokens": 100, "image_tokens": 0, "cached_tokens": 100},
        "output_tokens": 1000,
        "total_tokens": 1100,
    }
    assert cost_of_usage(api_usage, price_table) == Decimal("0.030125")


def test_estimate_without_history_uses_profile_defaults(offline_deployment):
    estimate = estimate_job_cost(
        deployment=offline_deployment, quality="medium", width=1024, height=1024, n=4, prompt="x" * 400
    )
    # factory profile: 1010 tokens per 1024x1024 at medium -> 4 * 1010 * $30/M + 100 text tokens * $5/M
    assert estimate.amount == Decimal("0.121700")
    assert estimate.per_image == Decimal("0.030300")
    assert estimate.basis == "default for gpt-image-2 at medium quality (no history yet)"


def test_estimate_scales_with_pixels_and_counts_input_images(offline_deployment):
    small = estimate_job_cost(deployment=offline_deployment, quality="high", width=1024, height=1024, n=1, prompt="")
    large = estimate_job_cost(deployment=offline_deployment, quality="high", width=2048, height=2048, n=1, prompt="")
    edit = estimate_job_cost(
        deployment=offline_deployment, quality="high", width=1024, height=1024, n=1, prompt="", input_images=2
    )
    assert large.per_image == small.per_image * 4
    assert edit.amount > small.amount


def _recorded(deployment, *, tokens, quality="medium", width=1024, height=1024, n=1, status=JobStatus.SUCCEEDED):
    return f.GenerationJobFactory(
        deployment=deployment,
        workspace=deployment.workspace,
        draft_version__draft__campaign__workspace=deployment.workspace,
        status=status,
        n=n,
        planned_width=width,
        planned_height=height,
        params={"quality": quality},
        usage=Usage(output_image_tokens=tokens * n).as_dict(),
    )


def test_estimate_from_history_after_five_jobs_in_one_query(offline_deployment, django_assert_num_queries):
    for _ in range(4):
        _recorded(offline_deployment, tokens=2000)
    _recorded(offline_deployment, tokens=9999, quality="high")  # other quality: ignored
    _recorded(offline_deployment, tokens=9999, width=3840, height=2160)  # other size class: ignored
    _recorded(offline_deployment, tokens=9999, status=JobStatus.FAILED)  # not succeeded: ignored
    fallback = estimate_job_cost(
        deployment=offline_deployment, quality="medium", width=1024, height=1024, n=1, prompt=""
    )
    assert "no history yet" in fallback.basis
    _recorded(offline_deployment, tokens=2000, n=3)
    with django_assert_num_queries(1):  # one aggregate over history (the price row is remembered: see below)
        estimate = estimate_job_cost(
            deployment=offline_deployment, quality="medium", width=1024, height=1024, n=2, prompt=""
        )
    assert estimate.basis == "from 5 recent jobs at medium quality, ~1 MP"
    assert estimate.per_image == Decimal("0.060000")  # 2000 tokens * $30/M
    assert estimate.amount == Decimal("0.120000")


def test_a_price_is_remembered_briefly_and_forgotten_when_a_price_row_is_saved(
    offline_deployment, django_assert_num_queries
):
    from studio.generation.pricing import price_for

    profile = offline_deployment.profile
    first = price_for(model_name=profile.name, provider=offline_deployment.provider)
    with django_assert_num_queries(0):
        assert price_for(model_name=profile.name, provider=offline_deployment.provider) == first
    first.image_output = first.image_output + 1
    first.save()
    with django_assert_num_queries(1):
        again = price_for(model_name=profile.name, provider=offline_deployment.provider)
    assert again.image_output == first.image_output
