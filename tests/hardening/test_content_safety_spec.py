"""Azure AI Content Safety: ``severity`` is optional in ``categoriesAnalysis`` (2024-09-01). A category
listed without one was not reported: severity 0, recorded as unreported, never "screener unavailable"."""

from __future__ import annotations

import httpx2
import pytest

from studio.safety.services import screen_image, screen_prompt
from tests.factories import png_bytes
from tests.safety.factories_safety import AZURE_ENDPOINT, Router, ok


@pytest.fixture
def azure_on(settings, monkeypatch, workspace):
    settings.AZURE_CONTENT_SAFETY_ENDPOINT = AZURE_ENDPOINT
    monkeypatch.setenv("AZURE_CONTENT_SAFETY_KEY", "cs-test-key")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    workspace.safety_screeners = ["azure"]
    workspace.save()
    return workspace


def test_a_text_reply_without_some_severities_is_judged_on_the_ones_reported(azure_on):
    router = (
        Router().on("text:analyze", ok("azure_text_severity_missing")).on("text:shieldPrompt", ok("azure_shield_clean"))
    )
    screening = screen_prompt(workspace=azure_on, text="A knight in a sword fight", http_client=router.client())
    assert not screening.pending
    assert screening.verdict == "review"
    assert screening.decided_by == "azure: Violence severity 4"
    azure = screening.results[1]
    assert azure.status == "complete"
    by_name = {c["raw"]: c for c in azure.categories}
    assert by_name["Hate"]["severity"] == 0
    assert by_name["Hate"]["severity_reported"] is False
    assert "severity_reported" not in by_name["Violence"]


def test_an_image_reply_without_severities_is_clean_not_unavailable(azure_on):
    router = Router().on("image:analyze", ok("azure_image_severity_missing"))
    screening = screen_image(workspace=azure_on, image=png_bytes(), http_client=router.client())
    assert screening.verdict == "allow"
    azure = screening.results[-1]
    assert azure.status == "complete"
    assert not azure.error
    assert [c["severity"] for c in azure.categories] == [0, 0, 0, 0]


@pytest.mark.parametrize("bad", [9, -1, "high", True])
def test_a_severity_outside_the_scale_still_fails_closed(azure_on, bad):
    def reply(request):
        return httpx2.Response(200, json={"categoriesAnalysis": [{"category": "Hate", "severity": bad}]})

    router = Router().on("text:analyze", reply).on("text:shieldPrompt", ok("azure_shield_clean"))
    screening = screen_prompt(workspace=azure_on, text="hello", http_client=router.client())
    assert screening.pending
    assert "severity outside 0..7" in screening.results[1].error
