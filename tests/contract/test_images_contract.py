"""Every request our image clients send, and every recorded success response, validated against the
official OpenAPI subset (openapi-core). The spec's three known gaps are patched here, on a deep copy,
never in the file:

1. no error responses are declared (we only validate successes, so only the response map needs 200s);
2. the response ``size`` enum lists only the three standard sizes, but flexible models return any WxH;
3. multipart edits send ``image[]`` (one part per file) where the schema names the field ``image``.

Azure's ``api-key`` header is not in OpenAI's spec either; it is added as an alternative security scheme,
and Azure URLs are mapped onto the spec's server (``/openai/v1`` and ``/openai/deployments/{name}``).
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import httpx2
import pytest
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from studio.generation.catalog import builtin_profile
from studio.generation.models import Deployment
from studio.lib.providers import EditRequest, GenerationRequest, get_provider
from tests.contract.recording import Recorder, image_bytes, ok, payload

# The oracle is the shared reference beside the repository; a verbatim snapshot in tests/fixtures keeps a
# clone without shared/ testable, and test_snapshot_matches_the_shared_reference catches any drift.
SHARED_SPEC_PATH = Path(__file__).resolve().parents[3] / "shared" / "reference" / "openai-images.openapi.json"
SNAPSHOT_SPEC_PATH = Path(__file__).resolve().parents[1] / "fixtures" / "openai-images.openapi.json"
SPEC_PATH = SHARED_SPEC_PATH if SHARED_SPEC_PATH.exists() else SNAPSHOT_SPEC_PATH
AZURE_PATH = re.compile(r"^/openai/(?:v1|deployments/[^/]+)(/images/.+)$")


def patched_spec() -> dict:
    spec = copy.deepcopy(json.loads(SPEC_PATH.read_text()))
    schemas = spec["components"]["schemas"]
    # Gap 2: flexible-size models return any WxH.
    schemas["ImagesResponse"]["properties"]["size"] = {"type": "string", "pattern": r"^\d+x\d+$"}
    # Gap 3: multipart sends image[] (one part per file) where the schema names the field image. Every
    # multipart part is text or bytes, and openapi-core decodes a part by its property's declared type
    # (no casting), so the form fields are restated in their on-the-wire form with the same constraints.
    edit = schemas["CreateImageEditRequest"]
    props = edit["properties"]
    # File parts are bytes: OAS 3.1 spells "format: binary" as contentMediaType, which openapi-core accepts.
    binary = {"contentMediaType": "application/octet-stream"}
    props["image[]"] = {"type": "array", "minItems": 1, "maxItems": 16, "items": binary}
    props["image"] = {"anyOf": [binary, {"type": "array", "maxItems": 16, "items": binary}]}
    props["mask"] = binary
    edit["required"] = [name for name in edit["required"] if name != "image"]
    edit["anyOf"] = [{"required": ["image"]}, {"required": ["image[]"]}]
    props["model"] = {"type": "string"}
    props["size"] = {"type": "string", "pattern": r"^(\d+x\d+|auto)$"}
    props["n"] = {"type": "string", "pattern": "^([1-9]|10)$"}
    props["output_compression"] = {"type": "string", "pattern": r"^(\d|[1-9]\d|100)$"}
    props["input_fidelity"] = {"type": "string", "enum": ["high", "low"]}
    for name in ("stream", "partial_images"):
        props.pop(name, None)  # never sent by our client (no streaming); their defaults would be non-text
    # Azure key auth, as an alternative to the bearer token.
    spec["components"]["securitySchemes"]["AzureApiKey"] = {"type": "apiKey", "in": "header", "name": "api-key"}
    spec["security"] = [{"ApiKeyAuth": []}, {"AzureApiKey": []}]
    # Gap 1 needs no change for success validation; error bodies are covered by the provider tests.
    return spec


OPENAPI = OpenAPI.from_dict(patched_spec())


class CapturedRequest:
    """An httpx2 request as openapi-core's Request protocol, with Azure paths mapped onto the spec server."""

    def __init__(self, request: httpx2.Request) -> None:
        self._request = request
        path = request.url.path
        match = AZURE_PATH.match(path)
        self.path = "/v1" + match.group(1) if match else path
        self.host_url = "https://api.openai.com"
        query = [(k, v) for k, v in request.url.params.multi_items() if k != "api-version"]
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(query), header=Headers(list(request.headers.items()))
        )

    @property
    def method(self) -> str:
        return self._request.method.lower()

    @property
    def body(self) -> bytes:
        return self._request.content

    @property
    def content_type(self) -> str:
        return self._request.headers.get("content-type", "").lower()


class CapturedResponse:
    def __init__(self, body: dict) -> None:
        self.data = json.dumps(body).encode()
        self.status_code = 200
        self.content_type = "application/json"
        self.headers = Headers([("content-type", "application/json")])


@pytest.fixture(autouse=True)
def _keys(monkeypatch):
    monkeypatch.setenv("IMAGES_KEY", "test-key")


DEPLOYMENTS = {
    "openai": {"provider": "openai", "model": "gpt-image-2"},
    "azure-v1": {
        "provider": "azure-openai",
        "endpoint": "https://acme.openai.azure.com",
        "model": "img2",
        "azure_surface": "v1",
    },
    "azure-deployments": {
        "provider": "azure-openai",
        "endpoint": "https://acme.openai.azure.com",
        "model": "img2",
        "azure_surface": "deployments",
    },
}


def deployment(kind: str, profile: str = "gpt-image-2") -> Deployment:
    return Deployment(name=kind, secret_env="IMAGES_KEY", profile=builtin_profile(profile), **DEPLOYMENTS[kind])


@pytest.mark.parametrize("kind", list(DEPLOYMENTS))
def test_generation_requests_match_the_spec(kind):
    recorder = Recorder(ok(payload("openai_generation_success")))
    provider = get_provider(deployment(kind), http_client=recorder.client())
    provider.generate(
        GenerationRequest(
            prompt="A sunlit kitchen",
            size="1216x640",
            n=2,
            quality="high",
            output_format="webp",
            output_compression=80,
            background="opaque",
            moderation="low",
        )
    )
    OPENAPI.validate_request(CapturedRequest(recorder.last))


@pytest.mark.parametrize("kind", list(DEPLOYMENTS))
def test_edit_requests_with_mask_and_references_match_the_spec(kind):
    recorder = Recorder(ok(payload("azure_edit_success")))
    provider = get_provider(deployment(kind, "gpt-image-1.5"), http_client=recorder.client())
    provider.edit(
        EditRequest(
            prompt="Replace the table with marble",
            size="1024x1024",
            quality="medium",
            images=[image_bytes(64, 64), image_bytes(32, 32, "JPEG")],
            mask=image_bytes(64, 64, mode="RGBA", color=(0, 0, 0, 0)),
            input_fidelity="high",
        )
    )
    captured = CapturedRequest(recorder.last)
    assert b'name="image[]"' in captured.body
    OPENAPI.validate_request(captured)


def test_single_image_edit_matches_the_spec():
    recorder = Recorder(ok(payload("azure_edit_success")))
    get_provider(deployment("openai"), http_client=recorder.client()).edit(
        EditRequest(prompt="Warmer", size="1024x1024", images=[image_bytes(64, 64)])
    )
    OPENAPI.validate_request(CapturedRequest(recorder.last))


def test_an_invalid_request_is_caught_by_the_oracle():
    """The oracle is not a rubber stamp: n=11 breaks the spec's maximum."""
    from openapi_core.validation.request.exceptions import InvalidRequestBody

    recorder = Recorder(ok(payload("openai_generation_success")))
    get_provider(deployment("openai"), http_client=recorder.client()).generate(
        GenerationRequest(prompt="x", size="1024x1024", n=11)
    )
    with pytest.raises(InvalidRequestBody):
        OPENAPI.validate_request(CapturedRequest(recorder.last))


@pytest.mark.parametrize("name", ["openai_generation_success", "azure_generation_success", "azure_edit_success"])
def test_recorded_success_responses_match_the_spec(name):
    path = "/v1/images/edits" if "edit" in name else "/v1/images/generations"
    request = CapturedRequest(
        httpx2.Request(
            "POST",
            f"https://api.openai.com{path}",
            headers={"content-type": "application/json", "authorization": "Bearer x"},
            content=b"{}",
        )
    )
    OPENAPI.validate_response(request, CapturedResponse(payload(name)))


def test_the_size_gap_is_real_in_the_unpatched_spec():
    """Documents why gap 2 is patched: the official enum rejects a flexible size like 1216x640."""
    strict = OpenAPI.from_dict(json.loads(SPEC_PATH.read_text()))
    request = CapturedRequest(
        httpx2.Request(
            "POST",
            "https://api.openai.com/v1/images/generations",
            headers={"content-type": "application/json", "authorization": "Bearer x"},
            content=b"{}",
        )
    )
    with pytest.raises(Exception, match="(?i)invalid"):
        strict.validate_response(request, CapturedResponse(payload("openai_generation_success")))


def test_an_invalid_multipart_edit_is_caught_by_the_oracle():
    from openapi_core.validation.request.exceptions import InvalidRequestBody

    recorder = Recorder(ok(payload("azure_edit_success")))
    get_provider(deployment("azure-v1"), http_client=recorder.client()).edit(
        EditRequest(prompt="Warmer", size="1024x1024", n=11, images=[image_bytes(64, 64)])
    )
    with pytest.raises(InvalidRequestBody):
        OPENAPI.validate_request(CapturedRequest(recorder.last))


@pytest.mark.skipif(not SHARED_SPEC_PATH.exists(), reason="no shared/ beside this clone")
def test_snapshot_matches_the_shared_reference():
    assert json.loads(SNAPSHOT_SPEC_PATH.read_text()) == json.loads(SHARED_SPEC_PATH.read_text())
