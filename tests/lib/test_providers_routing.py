"""Routing modes, connection tests and retry backoff."""

from __future__ import annotations

import pytest

from studio.generation.catalog import builtin_profile
from studio.generation.models import Deployment
from studio.lib.providers.connection import deployment_test_connection
from studio.lib.providers.retry import CAP_SECONDS, backoff_seconds
from studio.lib.providers.routing import ROUTE_EXPLICIT, RouteError, available_routes, route_overrides
from tests.contract.recording import Recorder, error, image_bytes, ok, payload, with_image

ROUTING = {
    "size_tiers": {
        "smimage": {"size_class": "smimage"},
        "xlimage": {"size_class": "xlimage", "quality": "high"},
        "huge": {"size_class": "huge"},
    },
    "token_buckets": {"48": {"token_bucket": 48}, "17": {"token_bucket": 17}},
}


def deployment(**kw) -> Deployment:
    fields = {
        "name": "foundry",
        "provider": "azure-openai",
        "endpoint": "https://acme.openai.azure.com",
        "model": "img2",
        "secret_env": "AZURE_OPENAI_KEY",
        "profile": builtin_profile("gpt-image-2"),
        **kw,
    }
    return Deployment(**fields)


def test_routes_offered_are_the_configured_known_tiers_and_buckets():
    routes = [key for key, _label in available_routes(deployment(routing=ROUTING), regulated=False)]
    assert routes == [ROUTE_EXPLICIT, "tier:smimage", "tier:xlimage", "bucket:48"]


def test_regulated_workspaces_only_get_explicit_sizes():
    assert available_routes(deployment(routing=ROUTING), regulated=True) == [
        ("explicit", "Explicit size (deterministic)")
    ]
    assert [k for k, _ in available_routes(deployment(), regulated=False)] == ["explicit"]


def test_route_overrides_are_the_configured_body_fields():
    d = deployment(routing=ROUTING)
    assert route_overrides(d, "explicit") == {}
    assert route_overrides(d, "tier:xlimage") == {"size_class": "xlimage", "quality": "high"}
    assert route_overrides(d, "bucket:48") == {"token_bucket": 48}
    overrides = route_overrides(d, "bucket:48")
    overrides["token_bucket"] = 1
    assert d.routing["token_buckets"]["48"] == {"token_bucket": 48}  # callers get a copy
    for unknown in ("tier:huge", "bucket:17", "bucket:64", "mystery"):
        with pytest.raises(RouteError):
            route_overrides(d, unknown)


def test_backoff_prefers_the_servers_wait_then_grows_with_jitter_and_a_cap():
    assert backoff_seconds(1, 1.5) == 1.5
    assert backoff_seconds(3, 0) == 0
    assert backoff_seconds(1, 10_000) == 900
    first = [backoff_seconds(1, None) for _ in range(50)]
    fourth = [backoff_seconds(4, None) for _ in range(50)]
    assert all(1 <= s <= 2 for s in first)
    assert all(8 <= s <= 16 for s in fourth)
    assert len(set(fourth)) > 1  # jitter
    assert all(s <= CAP_SECONDS for s in (backoff_seconds(40, None) for _ in range(20)))
    assert backoff_seconds(1, -1) <= 2


def test_connection_test_makes_one_small_cheap_call(monkeypatch):
    monkeypatch.setenv("AZURE_OPENAI_KEY", "k")
    body = with_image(payload("azure_generation_success"), image_bytes(1024, 640))
    recorder = Recorder(ok(body))
    report = deployment_test_connection(deployment=deployment(), http_client=recorder.client())
    assert report.ok
    assert report.requested_size == report.returned_size == "1024x640"
    assert report.message.startswith("Connected")
    import json

    sent = json.loads(recorder.last.content)
    assert (sent["size"], sent["n"], sent["quality"]) == ("1024x640", 1, "low")
    assert len(recorder.requests) == 1


def test_connection_test_reports_a_different_returned_size(monkeypatch):
    monkeypatch.setenv("AZURE_OPENAI_KEY", "k")
    recorder = Recorder(ok(with_image(payload("azure_generation_success"), image_bytes(1024, 1024))))
    report = deployment_test_connection(deployment=deployment(), http_client=recorder.client())
    assert report.ok
    assert report.returned_size == "1024x1024"
    assert "returned 1024x1024 when asked for 1024x640" in report.message


def test_connection_test_failure_is_in_plain_words(monkeypatch):
    monkeypatch.setenv("AZURE_OPENAI_KEY", "k")
    recorder = Recorder(error(401, "azure_unauthorized"))
    report = deployment_test_connection(deployment=deployment(), http_client=recorder.client())
    assert not report.ok
    assert report.returned_size == ""
    assert "AZURE_OPENAI_KEY was rejected" in report.message


def test_connection_test_works_offline():
    offline = Deployment(name="o", provider="offline", model="gpt-image-1.5", profile=builtin_profile("gpt-image-1.5"))
    report = deployment_test_connection(deployment=offline)
    assert report.ok
    assert report.returned_size == "1024x1024"
