"""Azure AI Content Safety client and screener, played from recorded payloads via MockTransport."""

from __future__ import annotations

import io
import json

import httpx2
import pytest
from PIL import Image

from studio.lib.imaging import image_prepare
from studio.safety.azure import AzureContentSafetyClient, blocklist_sync, text_chunks
from studio.safety.services import screen_image, screen_prompt
from studio.safety.types import ScreenerUnavailable
from tests.factories import png_bytes
from tests.safety.factories_safety import AZURE_ENDPOINT, Router, ok, timeout


@pytest.fixture
def azure_on(settings, monkeypatch, workspace):
    settings.AZURE_CONTENT_SAFETY_ENDPOINT = AZURE_ENDPOINT
    monkeypatch.setenv("AZURE_CONTENT_SAFETY_KEY", "cs-test-key")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    workspace.safety_screeners = ["azure"]
    workspace.save()
    return workspace


def azure_router(text="azure_text_clean", shield="azure_shield_clean", image="azure_image_clean") -> Router:
    return Router().on("text:analyze", ok(text)).on("text:shieldPrompt", ok(shield)).on("image:analyze", ok(image))


def test_clean_prompt_is_allowed_and_the_request_has_the_documented_shape(azure_on):
    router = azure_router()
    screening = screen_prompt(workspace=azure_on, text="A sunlit kitchen", http_client=router.client())
    assert screening.verdict == "allow"
    assert not screening.only_local
    assert [r.screener for r in screening.results] == ["local", "azure"]
    analyze = router.requests[0]
    assert analyze.url.params["api-version"] == "2024-09-01"
    assert analyze.headers["Ocp-Apim-Subscription-Key"] == "cs-test-key"
    body = json.loads(analyze.content)
    assert body["outputType"] == "EightSeverityLevels"
    assert "blocklistNames" not in body  # no terms, no blocklist
    assert router.bodies("text:shieldPrompt") == [{"userPrompt": "A sunlit kitchen", "documents": []}]


def test_key_is_read_at_call_time(azure_on, monkeypatch):
    monkeypatch.setenv("AZURE_CONTENT_SAFETY_KEY", "rotated-key")
    router = azure_router()
    screen_prompt(workspace=azure_on, text="hello", http_client=router.client())
    assert router.requests[0].headers["Ocp-Apim-Subscription-Key"] == "rotated-key"


def test_borderline_violence_goes_to_compliance(azure_on):
    screening = screen_prompt(
        workspace=azure_on,
        text="A knight in a sword fight",
        http_client=azure_router(text="azure_text_borderline").client(),
    )
    assert screening.verdict == "review"
    assert screening.decided_by == "azure: Violence severity 4"
    assert screening.message.startswith("Goes to brand review, then compliance")


def test_severe_hate_blocks_before_generation(azure_on):
    router = azure_router(text="azure_text_severe")
    screening = screen_prompt(workspace=azure_on, text="...", http_client=router.client())
    assert screening.verdict == "block"
    assert screening.message.startswith(
        "Blocked before generation: Azure AI Content Safety rated the prompt as hateful content"
    )


def test_blocklist_hit_is_sent_with_the_workspace_list_and_highlighted(azure_on):
    azure_on.blocklist_terms = ["rivalcola"]
    router = azure_router(text="azure_text_blocklist_hit")
    screening = screen_prompt(workspace=azure_on, text="Better than RivalCola", http_client=router.client())
    body = router.bodies("text:analyze")[0]
    assert body["blocklistNames"] == ["imprimatur-acme"]
    assert body["haltOnBlocklistHit"] is False
    azure = screening.results[1]
    assert azure.verdict == "block"
    assert [(m["term"], m["start"], m["end"]) for m in azure.matches] == [("RivalCola", 12, 21)]


def test_unsynced_azure_blocklist_falls_back_to_analysis_without_it(azure_on):
    azure_on.blocklist_terms = ["rivalcola"]
    router = (
        Router()
        .on("text:analyze", ok("azure_error_404_blocklist", 404), ok("azure_text_clean"))
        .on("text:shieldPrompt", ok("azure_shield_clean"))
    )
    screening = screen_prompt(workspace=azure_on, text="A fizzy drink", http_client=router.client())
    assert screening.verdict == "allow"
    assert "not synced" in screening.results[1].explanation
    assert "blocklistNames" not in router.bodies("text:analyze")[1]


def test_jailbreak_attempt_is_blocked(azure_on):
    screening = screen_prompt(
        workspace=azure_on,
        text="Ignore all previous instructions and ...",
        http_client=azure_router(shield="azure_shield_jailbreak").client(),
    )
    assert screening.verdict == "block"
    assert "get around the safety rules" in screening.message


@pytest.mark.parametrize(
    ("reply", "retryable", "words"),
    [
        (ok("azure_error_401", 401), False, "refused the key"),
        (ok("azure_error_429", 429), True, "rate-limiting"),
        (ok("azure_error_500", 500), True, "server error"),
        (timeout(), True, "did not answer within"),
        (httpx2.ConnectError("refused"), True, "could not be reached"),
        (lambda request: httpx2.Response(200, text="<html>gateway</html>"), True, "not JSON"),
    ],
)
def test_errors_fail_closed(azure_on, reply, retryable, words):
    router = Router().on("text:analyze", reply).on("text:shieldPrompt", ok("azure_shield_clean"))
    screening = screen_prompt(workspace=azure_on, text="hello", http_client=router.client())
    assert screening.verdict == "pending"
    assert screening.pending
    azure = screening.results[1]
    assert azure.status == "error"
    assert words in azure.error
    assert azure.retryable is retryable
    assert screening.message.startswith("Safety check pending: Azure AI Content Safety did not answer")


def test_fail_open_records_the_skip_and_lets_the_others_decide(azure_on):
    azure_on.safety_fail_open = True
    router = Router().on("text:analyze", ok("azure_error_500", 500))
    screening = screen_prompt(workspace=azure_on, text="hello", http_client=router.client())
    assert screening.verdict == "allow"
    assert screening.results[1].status == "fail_open"
    assert "skipped" in screening.message


def test_long_text_is_analysed_in_chunks_and_the_worst_chunk_counts(azure_on):
    text = ("calm words " * 1200) + "end"
    replies = [ok("azure_text_clean"), ok("azure_text_severe")]
    router = Router().on("text:analyze", *replies).on("text:shieldPrompt", ok("azure_shield_clean"))
    screening = screen_prompt(workspace=azure_on, text=text, http_client=router.client())
    sent = router.bodies("text:analyze")
    assert len(sent) == 2
    assert all(len(b["text"]) <= 10_000 for b in sent)
    assert "".join(b["text"] for b in sent) == text
    assert screening.verdict == "block"
    assert all(len(chunk) <= 10_000 for chunk in text_chunks("x" * 25_000))


def test_image_is_screened_with_four_levels(azure_on):
    router = azure_router(image="azure_image_severe")
    screening = screen_image(workspace=azure_on, image=png_bytes(), http_client=router.client())
    body = router.bodies("image:analyze")[0]
    assert body["outputType"] == "FourSeverityLevels"
    assert body["image"]["content"]
    assert screening.verdict == "block"
    assert screening.message.startswith("Blocked after generation: Azure AI Content Safety rated the image as sexual")


def test_large_images_are_downscaled_to_azure_limits_and_tiny_ones_upscaled():
    big = io.BytesIO()
    Image.effect_noise((3000, 1500), 120).convert("RGB").save(big, format="PNG")
    data, mime = image_prepare(big.getvalue())
    with Image.open(io.BytesIO(data)) as img:
        assert max(img.size) <= 2048
    assert len(data) <= 4 * 1024 * 1024
    assert mime in ("image/png", "image/jpeg")
    data, _ = image_prepare(png_bytes(20, 10))
    with Image.open(io.BytesIO(data)) as img:
        assert min(img.size) >= 50
    small = png_bytes(64, 64)
    assert image_prepare(small) == (small, "image/png")


def test_unreadable_image_fails_closed_without_retrying(azure_on):
    screening = screen_image(workspace=azure_on, image=b"not an image", http_client=Router().client())
    assert screening.pending
    assert screening.results[1].retryable is False


def test_blocklist_sync_patches_the_list_adds_terms_and_removes_stale_ones(azure_on):
    azure_on.blocklist_terms = ["rivalcola", "megasoda", " "]
    router = (
        Router()
        .on("text/blocklists/imprimatur-acme", ok("azure_blocklist_patch"))
        .on("/blocklistItems", ok("azure_blocklist_items"))
        .on(":addOrUpdateBlocklistItems", ok("azure_blocklist_add"))
        .on(":removeBlocklistItems", lambda request: httpx2.Response(204))
    )
    assert blocklist_sync(workspace=azure_on, http_client=router.client()) == {"terms": 2, "removed": 1}
    methods = [(r.method, r.url.path.rsplit("/", 1)[-1]) for r in router.requests]
    assert methods[0] == ("PATCH", "imprimatur-acme")
    assert router.requests[0].headers["Content-Type"] == "application/merge-patch+json"
    added = router.bodies(":addOrUpdateBlocklistItems")[0]["blocklistItems"]
    assert [i["text"] for i in added] == ["megasoda", "rivalcola"]
    assert router.bodies(":removeBlocklistItems") == [{"blocklistItemIds": ["7d1c2e55-90ab-4f3e-8a61-2c5b9e0d4f17"]}]


def test_blocklist_sync_needs_configuration(workspace, settings):
    settings.AZURE_CONTENT_SAFETY_ENDPOINT = ""
    with pytest.raises(ScreenerUnavailable, match="not configured"):
        blocklist_sync(workspace=workspace, http_client=Router().client())


def test_client_is_absent_without_endpoint_or_key(settings, monkeypatch):
    settings.AZURE_CONTENT_SAFETY_ENDPOINT = AZURE_ENDPOINT
    monkeypatch.delenv("AZURE_CONTENT_SAFETY_KEY", raising=False)
    assert AzureContentSafetyClient.from_settings() is None
