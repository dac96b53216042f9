"""OpenAI and Azure OpenAI providers against recorded real-shaped payloads (MockTransport, no network)."""

from __future__ import annotations

import base64
import json
import re
import sys

import httpx2
import pytest

from studio.generation.catalog import builtin_profile
from studio.generation.models import Deployment
from studio.lib.providers import (
    AzureOpenAIProvider,
    EditRequest,
    ErrorKind,
    GenerationRequest,
    OfflineProvider,
    OpenAIProvider,
    ProviderError,
    get_provider,
)
from studio.lib.sizing import check_returned_size, plan_size
from tests.contract.recording import Recorder, error, image_bytes, ok, payload, with_image

KEY = "sk-test-not-a-real-key"


@pytest.fixture(autouse=True)
def _keys(monkeypatch):
    monkeypatch.setenv("AZURE_OPENAI_KEY", KEY)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)


def azure(surface: str = "v1", profile: str = "gpt-image-2", **kw) -> Deployment:
    return Deployment(
        name="foundry",
        provider="azure-openai",
        endpoint="https://acme.openai.azure.com/",
        model="img2-prod",
        azure_surface=surface,
        secret_env="AZURE_OPENAI_KEY",
        api_version="2025-04-01-preview",
        profile=builtin_profile(profile),
        **kw,
    )


def openai_deployment(profile: str = "gpt-image-2", **kw) -> Deployment:
    return Deployment(
        name="openai",
        provider="openai",
        model="gpt-image-2",
        secret_env="OPENAI_API_KEY",
        profile=builtin_profile(profile),
        **kw,
    )


def generation(**kw) -> GenerationRequest:
    return GenerationRequest(**{"prompt": "A sunlit kitchen", "size": "1216x640", "quality": "medium", **kw})


def part_names(request: httpx2.Request) -> list[str]:
    return re.findall(r'name="([^"]+)"', request.content.decode("latin-1"))


# --- success ------------------------------------------------------------------------------------------


def test_openai_generation_sends_json_and_parses_real_image_usage_and_request_id():
    recorder = Recorder(ok(payload("openai_generation_success")))
    result = get_provider(openai_deployment(), http_client=recorder.client()).generate(
        generation(safety_identifier="abc123", idempotency_key="job-42")
    )
    sent = recorder.last
    assert str(sent.url) == "https://api.openai.com/v1/images/generations"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.headers["x-client-request-id"] == "job-42"
    body = json.loads(sent.content)
    assert body == {
        "model": "gpt-image-2",
        "prompt": "A sunlit kitchen",
        "n": 1,
        "size": "1216x640",
        "quality": "medium",
        "output_format": "png",
        "safety_identifier": "abc123",
    }
    image = result.images[0]
    assert (image.width, image.height, image.format) == (1216, 640, "png")
    assert result.usage.input_text_tokens == 52
    assert result.usage.cached_text_tokens == 32
    assert result.usage.output_image_tokens == 1196
    assert result.usage.output_text_tokens == 25
    assert result.request_id == "req_test_1"
    assert result.latency_ms >= 0
    assert result.raw_meta["size"] == "1216x640"


def test_openai_compatible_base_url_is_used():
    recorder = Recorder(ok(payload("openai_generation_success")))
    deployment = openai_deployment(endpoint="https://llm.internal.example/v1")
    get_provider(deployment, http_client=recorder.client()).generate(generation())
    assert str(recorder.last.url) == "https://llm.internal.example/v1/images/generations"


def test_azure_v1_uses_api_key_header_only_and_keeps_filter_results():
    recorder = Recorder(ok(payload("azure_generation_success"), **{"apim-request-id": "apim-9"}))
    result = get_provider(azure("v1"), http_client=recorder.client()).generate(generation())
    sent = recorder.last
    assert str(sent.url) == "https://acme.openai.azure.com/openai/v1/images/generations"
    assert sent.headers["api-key"] == KEY
    assert "authorization" not in sent.headers
    assert json.loads(sent.content)["model"] == "img2-prod"
    assert result.images[0].filter_results["violence"] == {"filtered": False, "severity": "low"}
    assert result.prompt_filter_results["jailbreak"] == {"filtered": False, "detected": False}
    assert result.request_id == "req_test_1"  # x-request-id is preferred when both are present


def test_azure_request_id_falls_back_to_apim_header():
    response = httpx2.Response(200, json=payload("azure_generation_success"), headers={"apim-request-id": "apim-9"})
    result = get_provider(azure("v1"), http_client=Recorder(response).client()).generate(generation())
    assert result.request_id == "apim-9"


def test_azure_deployments_surface_puts_deployment_and_api_version_in_url():
    recorder = Recorder(ok(payload("azure_generation_success")))
    get_provider(azure("deployments"), http_client=recorder.client()).generate(generation())
    sent = recorder.last
    assert sent.url.path == "/openai/deployments/img2-prod/images/generations"
    assert sent.url.params["api-version"] == "2025-04-01-preview"
    assert sent.headers["api-key"] == KEY


def test_timeout_comes_from_the_deployment_else_from_settings(settings):
    # Issue 10: each deployment says how long its calls may take (a slow model needs longer).
    settings.IMPRIMATUR_PROVIDER_TIMEOUT_SECONDS = 33
    recorder = Recorder(ok(payload("openai_generation_success")))
    get_provider(openai_deployment(request_timeout_seconds=240), http_client=recorder.client()).generate(generation())
    assert recorder.last.extensions["timeout"]["read"] == 240
    get_provider(openai_deployment(request_timeout_seconds=0), http_client=recorder.client()).generate(generation())
    assert recorder.last.extensions["timeout"]["read"] == 33


def test_edit_multipart_sends_base_references_and_mask_but_no_fidelity_for_gpt_image_2():
    recorder = Recorder(ok(payload("azure_edit_success")))
    base, ref1, ref2 = image_bytes(1024, 1024), image_bytes(64, 64, "JPEG"), image_bytes(32, 32, "WEBP")
    mask = image_bytes(1024, 1024, mode="RGBA", color=(0, 0, 0, 0))
    result = get_provider(azure("deployments"), http_client=recorder.client()).edit(
        EditRequest(
            prompt="Make the sky warmer", images=[base, ref1, ref2], size="1024x1024", mask=mask, input_fidelity="high"
        )
    )
    sent = recorder.last
    assert sent.url.path == "/openai/deployments/img2-prod/images/edits"
    assert sent.headers["content-type"].startswith("multipart/form-data; boundary=")
    names = part_names(sent)
    assert names.count("image[]") == 3
    assert names.count("mask") == 1
    assert "input_fidelity" not in names
    assert "markup" not in names
    assert b"Content-Type: image/jpeg" in sent.content
    assert b"Content-Type: image/webp" in sent.content
    assert result.prompt_filter_results["jailbreak"]["detected"] is False
    assert result.usage.input_image_tokens == 1370


def test_edit_sends_input_fidelity_where_the_profile_supports_it():
    recorder = Recorder(ok(payload("azure_edit_success")))
    get_provider(azure("v1", profile="gpt-image-1.5"), http_client=recorder.client()).edit(
        EditRequest(prompt="Warmer", images=[image_bytes(64, 64)], size="1024x1024", input_fidelity="high")
    )
    assert "input_fidelity" in part_names(recorder.last)


def test_markup_is_sent_only_where_supported_and_never_with_a_mask():
    recorder = Recorder(ok(payload("azure_edit_success")))
    flare = get_provider(azure("v1", profile="gpt-image-2.5-flare"), http_client=recorder.client())
    flare.edit(
        EditRequest(
            prompt="Follow the sketch",
            images=[image_bytes(64, 64)],
            size="1024x1024",
            markup=image_bytes(64, 64, mode="RGBA"),
        )
    )
    assert "markup" in part_names(recorder.last)
    sent_before = len(recorder.requests)
    with pytest.raises(ProviderError) as both:
        flare.edit(
            EditRequest(
                prompt="x",
                images=[image_bytes(64, 64)],
                size="1024x1024",
                markup=image_bytes(64, 64),
                mask=image_bytes(64, 64, mode="RGBA"),
            )
        )
    assert both.value.kind == ErrorKind.FATAL
    with pytest.raises(ProviderError) as unsupported:
        get_provider(azure("v1"), http_client=recorder.client()).edit(
            EditRequest(prompt="x", images=[image_bytes(64, 64)], size="1024x1024", markup=image_bytes(64, 64))
        )
    assert "markup" in unsupported.value.user_message
    assert len(recorder.requests) == sent_before


# --- safety blocks ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "stage", "categories"),
    [
        ("openai_moderation_blocked_input", "prompt", ["violence"]),
        ("openai_moderation_blocked_output", "output", ["sexual", "sexual/minors"]),
        ("openai_content_policy_violation", "prompt", []),
        ("azure_content_filter_prompt", "prompt", []),
        ("azure_content_filter_output", "output", []),
        ("azure_inner_error_rai", "prompt", ["violence"]),
    ],
)
def test_safety_refusals_become_blocked_with_stage_and_categories(name, stage, categories):
    recorder = Recorder(error(400, name, **{"x-request-id": "req_blocked"}))
    with pytest.raises(ProviderError) as caught:
        get_provider(azure("v1"), http_client=recorder.client()).generate(generation())
    err = caught.value
    assert err.kind == ErrorKind.BLOCKED
    assert err.stage == stage
    assert err.categories == categories
    assert err.request_id == "req_blocked"
    assert "safety system refused" in err.user_message
    assert len(recorder.requests) == 1


def test_azure_inner_error_keeps_the_filter_results():
    recorder = Recorder(error(400, "azure_inner_error_rai"))
    with pytest.raises(ProviderError) as caught:
        get_provider(azure("deployments"), http_client=recorder.client()).generate(generation())
    assert caught.value.filter_results["violence"] == {"filtered": True, "severity": "high"}
    assert caught.value.code == "content_policy_violation"


# --- retryable ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after": "7"}, 7.0),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "-1"}, None),
        ({"retry-after-ms": "-1"}, None),
        ({}, None),
    ],
)
def test_rate_limit_is_retryable_with_the_servers_wait(headers, expected):
    recorder = Recorder(error(429, "azure_rate_limited", **headers))
    with pytest.raises(ProviderError) as caught:
        get_provider(azure("v1"), http_client=recorder.client()).generate(generation())
    assert caught.value.kind == ErrorKind.RETRYABLE
    assert caught.value.status_code == 429
    assert caught.value.retry_after == expected
    assert len(recorder.requests) == 1  # the SDK does not retry by itself: the task does


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retryable_and_not_retried_inside_the_call(status):
    recorder = Recorder(error(status, "openai_server_error"))
    with pytest.raises(ProviderError) as caught:
        get_provider(openai_deployment(), http_client=recorder.client()).generate(generation())
    assert caught.value.kind == ErrorKind.RETRYABLE
    assert f"HTTP {status}" in caught.value.user_message
    assert len(recorder.requests) == 1


def test_timeout_is_retryable():
    recorder = Recorder(httpx2.ReadTimeout("timed out"))
    with pytest.raises(ProviderError) as caught:
        get_provider(azure("v1", request_timeout_seconds=12), http_client=recorder.client()).generate(generation())
    assert caught.value.kind == ErrorKind.RETRYABLE
    assert caught.value.code == "timeout"
    assert "12 seconds" in caught.value.user_message


def test_connection_error_is_retryable_and_names_the_endpoint():
    recorder = Recorder(httpx2.ConnectError("name resolution failed"))
    with pytest.raises(ProviderError) as caught:
        get_provider(azure("v1"), http_client=recorder.client()).generate(generation())
    assert caught.value.kind == ErrorKind.RETRYABLE
    assert "https://acme.openai.azure.com" in caught.value.user_message


# --- fatal --------------------------------------------------------------------------------------------


def test_invalid_size_names_the_sizes_the_model_accepts():
    recorder = Recorder(error(400, "openai_invalid_size"))
    with pytest.raises(ProviderError) as caught:
        get_provider(openai_deployment("gpt-image-1.5"), http_client=recorder.client()).generate(
            generation(size="1254x836")
        )
    assert caught.value.kind == ErrorKind.FATAL
    assert caught.value.user_message.startswith("The model refused the size 1254x836: it only accepts 1024x1024")


def test_rejected_key_names_the_variable():
    recorder = Recorder(error(401, "azure_unauthorized"))
    with pytest.raises(ProviderError) as caught:
        get_provider(azure("v1"), http_client=recorder.client()).generate(generation())
    assert caught.value.kind == ErrorKind.FATAL
    assert caught.value.user_message == (
        "The API key in AZURE_OPENAI_KEY was rejected: check the key or the role assignment."
    )


def test_forbidden_is_fatal():
    recorder = Recorder(error(403, {"error": {"code": "PermissionDenied", "message": "Principal lacks access"}}))
    with pytest.raises(ProviderError) as caught:
        get_provider(azure("v1"), http_client=recorder.client()).generate(generation())
    assert caught.value.kind == ErrorKind.FATAL
    assert "role assignment" in caught.value.user_message


def test_unknown_deployment_is_named():
    recorder = Recorder(error(404, "azure_deployment_not_found"))
    with pytest.raises(ProviderError) as caught:
        get_provider(azure("deployments"), http_client=recorder.client()).generate(generation())
    assert caught.value.kind == ErrorKind.FATAL
    assert caught.value.user_message.startswith("No deployment named img2-prod at this endpoint")


def test_missing_key_variable_is_fatal_and_sends_nothing(monkeypatch):
    monkeypatch.delenv("AZURE_OPENAI_KEY")
    recorder = Recorder(ok(payload("azure_generation_success")))
    provider = get_provider(azure("v1"), http_client=recorder.client())  # constructing never fails
    with pytest.raises(ProviderError) as caught:
        provider.generate(generation())
    assert caught.value.kind == ErrorKind.FATAL
    assert "AZURE_OPENAI_KEY" in caught.value.user_message
    assert recorder.requests == []


def test_entra_without_azure_identity_is_a_clear_fatal_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "azure.identity", None)
    recorder = Recorder(ok(payload("azure_generation_success")))
    with pytest.raises(ProviderError) as caught:
        get_provider(azure("v1", auth_mode="entra"), http_client=recorder.client()).generate(generation())
    assert caught.value.kind == ErrorKind.FATAL
    assert "azure-identity" in caught.value.user_message
    assert recorder.requests == []


# --- malformed ----------------------------------------------------------------------------------------


def _b64_body(b64: str) -> dict:
    body = payload("openai_generation_success")
    body["data"][0]["b64_json"] = b64
    return body


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (_b64_body("not base64 at all!!"), "bad_base64"),
        (_b64_body(base64.b64encode(b"<html>not an image</html>").decode()), "not_an_image"),
        (_b64_body(base64.b64encode(image_bytes(64, 64)[:60]).decode()), "not_an_image"),
        ({**payload("openai_generation_success"), "data": []}, "no_images"),
    ],
)
def test_garbage_images_are_malformed_never_stored(body, code):
    recorder = Recorder(ok(body))
    with pytest.raises(ProviderError) as caught:
        get_provider(openai_deployment(), http_client=recorder.client()).generate(generation())
    assert caught.value.kind == ErrorKind.MALFORMED
    assert caught.value.code == code
    assert caught.value.request_id == "req_test_1"


def test_non_json_success_body_is_malformed():
    recorder = Recorder(httpx2.Response(200, text="<html>gateway</html>", headers={"content-type": "text/html"}))
    with pytest.raises(ProviderError) as caught:
        get_provider(openai_deployment(), http_client=recorder.client()).generate(generation())
    assert caught.value.kind == ErrorKind.MALFORMED


def test_decompression_bomb_guard(settings):
    settings.IMPRIMATUR_MAX_IMAGE_PIXELS = 10_000
    recorder = Recorder(ok(with_image(payload("openai_generation_success"), image_bytes(400, 400))))
    with pytest.raises(ProviderError) as caught:
        get_provider(openai_deployment(), http_client=recorder.client()).generate(generation())
    assert caught.value.kind == ErrorKind.MALFORMED
    assert caught.value.code == "image_too_large"


def test_real_size_is_read_from_the_bytes_and_a_mismatch_is_reported():
    body = with_image(payload("azure_generation_success"), image_bytes(1024, 1024, "JPEG"))  # says 1216x640
    result = get_provider(azure("v1"), http_client=Recorder(ok(body)).client()).generate(generation())
    image = result.images[0]
    assert (image.width, image.height, image.format) == (1024, 1024, "jpeg")
    plan = plan_size(target_width=1200, target_height=628, profile=builtin_profile("gpt-image-2"))
    assert plan.size == "1216x640"
    message = check_returned_size(plan, image.width, image.height)
    assert message is not None
    assert "1024x1024 instead of the planned 1216x640" in message
    assert check_returned_size(plan, 1216, 640) is None


def test_get_provider_picks_the_implementation_per_deployment():
    assert isinstance(get_provider(azure()), AzureOpenAIProvider)
    assert isinstance(get_provider(openai_deployment()), OpenAIProvider)
    offline = Deployment(name="o", provider="offline", model="gpt-image-2", profile=builtin_profile("gpt-image-2"))
    assert isinstance(get_provider(offline), OfflineProvider)
    strange = Deployment(name="s", provider="replicate", model="x", profile=builtin_profile("gpt-image-2"))
    with pytest.raises(ProviderError) as caught:
        get_provider(strange).generate(generation())
    assert caught.value.kind == ErrorKind.FATAL


def test_usage_parsing_splits_cached_tokens_by_kind():
    from studio.lib.providers.parsing import parse_usage

    detailed = parse_usage(
        {
            "input_tokens": 1500,
            "output_tokens": 4000,
            "total_tokens": 5500,
            "input_tokens_details": {
                "text_tokens": 300,
                "image_tokens": 1200,
                "cached_tokens": 700,
                "cached_tokens_details": {"text_tokens": 200, "image_tokens": 500},
            },
        }
    )
    assert (detailed.cached_text_tokens, detailed.cached_image_tokens) == (200, 500)
    assert detailed.output_image_tokens == 4000
    assert detailed.output_text_tokens == 0
    lumped = parse_usage(
        {
            "input_tokens": 1500,
            "output_tokens": 10,
            "total_tokens": 1510,
            "input_tokens_details": {"text_tokens": 300, "image_tokens": 1200, "cached_tokens": 700},
        }
    )
    assert (lumped.cached_text_tokens, lumped.cached_image_tokens) == (300, 400)
    assert parse_usage(None).total_tokens == 0
