"""Calibrated estimates: from recorded usage per (model, quality, pixel class), with observations and a
p10-p90 range, falling back to the profile's defaults; the launch estimate uses them."""

from __future__ import annotations

from decimal import Decimal

from studio.generation.models import JobStatus
from studio.generation.services import launch
from studio.generation.services.calibration import calibrate, calibrated_estimate
from studio.lib.providers.base import Usage
from tests import factories as f


def _recorded(deployment, *, tokens, quality="medium", width=1024, height=1024, n=1):
    return f.GenerationJobFactory(
        deployment=deployment,
        workspace=deployment.workspace,
        draft_version__draft__campaign__workspace=deployment.workspace,
        status=JobStatus.SUCCEEDED,
        n=n,
        planned_width=width,
        planned_height=height,
        params={"quality": quality},
        usage=Usage(output_image_tokens=int(tokens * n)).as_dict(),
    )


def test_few_observations_fall_back_to_the_profile_default(offline_deployment):
    for _ in range(4):
        _recorded(offline_deployment, tokens=2000)
    calibration = calibrate(profile=offline_deployment.profile, quality="medium", width=1024, height=1024)
    assert calibration.method == "default"
    assert calibration.observations == 4
    assert calibration.tokens_per_image == 1010  # the factory profile's medium default
    estimate = calibrated_estimate(
        deployment=offline_deployment, quality="medium", width=1024, height=1024, n=1, prompt=""
    )
    assert estimate.basis == "default for gpt-image-2 at medium quality (4 recorded)"


def test_exact_size_history_gives_median_and_range(offline_deployment):
    for tokens in (1800, 1900, 2000, 2100, 2200, 9000):
        _recorded(offline_deployment, tokens=tokens)
    _recorded(offline_deployment, tokens=50, quality="low")  # other quality: ignored
    calibration = calibrate(profile=offline_deployment.profile, quality="medium", width=1024, height=1024)
    assert calibration.method == "exact size"
    assert calibration.observations == 6
    assert calibration.tokens_per_image == 2050
    assert calibration.low < 2000 < calibration.high
    estimate = calibrated_estimate(
        deployment=offline_deployment, quality="medium", width=1024, height=1024, n=2, prompt=""
    )
    assert estimate.per_image == Decimal("0.061500")  # 2050 tokens at $30/M
    assert "from 6 recorded jobs" in estimate.basis
    assert "p10-p90" in estimate.basis


def test_a_power_law_is_fitted_across_sizes_of_the_class(offline_deployment):
    def truth(w, h):  # not linear in pixels: the estimator is not told this
        return 0.03 * (w * h) ** 0.83

    for w, h in [(1024, 1024), (1152, 896), (896, 1152), (1216, 832), (832, 1216), (1024, 768)]:
        _recorded(offline_deployment, tokens=truth(w, h), width=w, height=h)
    calibration = calibrate(profile=offline_deployment.profile, quality="medium", width=1200, height=640)
    assert calibration.method == "fitted"
    assert abs(calibration.tokens_per_image - truth(1200, 640)) / truth(1200, 640) < 0.02


def test_the_launch_estimate_uses_the_calibration(offline_deployment):
    for _ in range(5):
        _recorded(offline_deployment, tokens=3000)
    estimate = launch._estimate(
        deployment=offline_deployment, quality="medium", width=1024, height=1024, n=1, prompt=""
    )
    assert estimate.per_image == Decimal("0.090000")
    assert "from 5 recorded jobs" in estimate.basis
