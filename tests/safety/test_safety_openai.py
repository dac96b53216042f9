"""OpenAI moderation through the SDK with an injected httpx2 client, played from recorded payloads."""

from __future__ import annotations

import json

import httpx2
import pytest

from studio.safety.openai_moderation import OpenAIModerationClient
from studio.safety.services import screen_image, screen_prompt
from tests.factories import png_bytes
from tests.safety.factories_safety import OPENAI_BASE, Router, ok, timeout


@pytest.fixture
def openai_on(settings, monkeypatch, workspace):
    settings.AZURE_CONTENT_SAFETY_ENDPOINT = ""
    settings.OPENAI_MODERATION_BASE_URL = OPENAI_BASE
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    workspace.safety_screeners = ["openai", "azure"]  # azure chosen but not configured
    workspace.save()
    return workspace


def test_clean_text_is_allowed_and_request_matches_the_api(openai_on):
    router = Router().on("/moderations", ok("openai_text_clean"))
    screening = screen_prompt(workspace=openai_on, text="A sunlit kitchen", http_client=router.client())
    assert screening.verdict == "allow"
    request = router.requests[0]
    assert str(request.url) == f"{OPENAI_BASE}/moderations"
    assert request.headers["Authorization"] == "Bearer sk-test"
    assert json.loads(request.content) == {
        "model": "omni-moderation-latest",
        "input": [{"type": "text", "text": "A sunlit kitchen"}],
    }
    assert len(router.requests) == 1  # the SDK's own retries are off


def test_borderline_and_severe_text(openai_on):
    borderline = screen_prompt(
        workspace=openai_on,
        text="a duel",
        http_client=Router().on("/moderations", ok("openai_text_borderline")).client(),
    )
    assert borderline.verdict == "review"
    assert borderline.decided_by == "openai: violence severity 4"
    severe = screen_prompt(
        workspace=openai_on, text="...", http_client=Router().on("/moderations", ok("openai_text_severe")).client()
    )
    assert severe.verdict == "block"
    assert "hateful content" in severe.message


def test_image_scores_only_self_harm_sexual_violence(openai_on):
    router = Router().on("/moderations", ok("openai_image_clean"))
    screening = screen_image(workspace=openai_on, image=png_bytes(), http_client=router.client())
    sent = json.loads(router.requests[0].content)["input"][0]
    assert sent["type"] == "image_url"
    assert sent["image_url"]["url"].startswith("data:image/png;base64,")
    result = screening.results[1]
    assessed = {c["raw"]: c["assessed"] for c in result.categories}
    assert assessed["hate"] is False
    assert assessed["harassment"] is False
    assert assessed["illicit"] is False
    assert assessed["violence"] is True
    assert assessed["sexual"] is True
    assert assessed["self-harm"] is True
    assert all(c["severity"] is None for c in result.categories if not c["assessed"])
    assert "Not assessed for images: harassment" in result.explanation
    assert screening.verdict == "allow"


def test_violent_image_is_blocked(openai_on):
    screening = screen_image(
        workspace=openai_on,
        image=png_bytes(),
        http_client=Router().on("/moderations", ok("openai_image_severe")).client(),
    )
    assert screening.verdict == "block"
    assert screening.message.startswith("Blocked after generation: OpenAI moderation rated the image as violence")


@pytest.mark.parametrize(
    ("reply", "retryable", "words"),
    [
        (ok("openai_error_401", 401), False, "refused the key"),
        (ok("openai_error_429", 429), True, "rate-limiting"),
        (ok("openai_error_500", 500), True, "server error"),
        (timeout(), True, "did not answer within"),
        (httpx2.ConnectError("refused"), True, "could not be reached"),
    ],
)
def test_errors_fail_closed(openai_on, reply, retryable, words):
    screening = screen_prompt(
        workspace=openai_on, text="hello", http_client=Router().on("/moderations", reply).client()
    )
    assert screening.pending
    result = screening.results[1]
    assert result.status == "error"
    assert words in result.error
    assert result.retryable is retryable


def test_without_any_key_only_local_rules_run_and_say_so(workspace, settings, monkeypatch):
    settings.AZURE_CONTENT_SAFETY_ENDPOINT = ""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    workspace.safety_screeners = ["azure", "openai"]
    screening = screen_prompt(workspace=workspace, text="A sunlit kitchen", http_client=Router().client())
    assert screening.only_local
    assert [r.screener for r in screening.results] == ["local"]
    assert "Only local rules ran: no hosted screener is configured" in screening.message
    assert OpenAIModerationClient.from_settings() is None


def test_configured_but_not_chosen_screeners_do_not_run(openai_on):
    openai_on.safety_screeners = []
    screening = screen_prompt(workspace=openai_on, text="hi", http_client=Router().client())
    assert screening.only_local
