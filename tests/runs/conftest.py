"""Fixtures for production runs: a campaign with two formats and two locales, a draft with copy for both."""

from __future__ import annotations

import pytest

from studio.generation import services
from studio.runs.planning import RunSpec
from tests import factories as f


@pytest.fixture
def formats(campaign):
    return [
        f.CampaignFormatFactory(campaign=campaign, name="LinkedIn ad", width=1200, height=628),
        f.CampaignFormatFactory(campaign=campaign, name="Square post", width=1080, height=1080),
    ]


@pytest.fixture
def run_draft(marketer, campaign):
    return services.draft_create(
        actor=marketer,
        campaign=campaign,
        title="Spring sale",
        text="A sunlit kitchen with a bowl of lemons",
        locale_copy={"en": "Spring sale", "ja": "春のセール"},
    )


@pytest.fixture
def spec(campaign, offline_deployment, formats, run_draft):
    def make(**overrides):
        values = {
            "campaign": campaign,
            "deployment": offline_deployment,
            "formats": formats,
            "locales": ["en", "ja"],
            "n": 1,
            "quality": "low",
            "version": run_draft.versions.get(),
        }
        values.update(overrides)
        return RunSpec(**values)

    return make
