"""Azure deployments surface: what an api-version documents is data; undocumented flexible sizes or webp
are warned about before spending, and Test connection sends a size the surface documents."""

from __future__ import annotations

import json

import pytest

from studio.generation import services
from studio.generation.catalog import builtin_profile
from studio.generation.models import Deployment
from studio.lib.providers.api_versions import surface_warnings
from studio.lib.providers.connection import deployment_test_connection
from tests import factories as f
from tests.contract.recording import Recorder, image_bytes, ok, payload, with_image


def azure(**kw) -> Deployment:
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


def test_test_connection_sends_a_documented_size_on_a_fixed_size_api_version(monkeypatch):
    monkeypatch.setenv("AZURE_OPENAI_KEY", "k")
    recorder = Recorder(ok(with_image(payload("azure_generation_success"), image_bytes(1024, 1024))))
    report = deployment_test_connection(
        deployment=azure(azure_surface="deployments", api_version="2025-04-01-preview"), http_client=recorder.client()
    )
    assert report.ok, report.message
    assert json.loads(recorder.last.content)["size"] == "1024x1024"
    assert report.requested_size == report.returned_size == "1024x1024"


def test_undocumented_sizes_and_formats_are_warned_about_per_api_version():
    deployments = azure(azure_surface="deployments", api_version="2025-04-01-preview")
    warned = surface_warnings(deployments, size="1200x640", output_format="webp")
    assert len(warned) == 2
    assert "1200x640 is not a documented size on api-version 2025-04-01-preview" in warned[0]
    assert "webp output is not documented" in warned[1]
    assert surface_warnings(deployments, size="1536x1024", output_format="png") == []
    # An api-version without a spec here: no more than the newest documented one is assumed.
    assert surface_warnings(azure(azure_surface="deployments", api_version="2099-01-01"), size="1200x640")
    # v1 documents flexible sizes; Azure still documents png/jpeg only.
    assert surface_warnings(azure(azure_surface="v1"), size="1200x640", output_format="png") == []
    assert surface_warnings(azure(azure_surface="v1"), size="1200x640", output_format="webp")
    assert surface_warnings(azure(provider="openai"), size="1200x640", output_format="webp") == []


@pytest.mark.django_db
def test_the_plan_warns_before_spending_on_an_undocumented_size(marketer, campaign, workspace, profile, price_table):
    deployment = f.DeploymentFactory(
        workspace=workspace,
        profile=profile,
        provider="azure-openai",
        endpoint="https://acme.openai.azure.com",
        secret_env="AZURE_OPENAI_KEY",
        azure_surface="deployments",
        api_version="2025-04-01-preview",
    )
    draft = services.draft_create(actor=marketer, campaign=campaign, title="Hero", text="A lemon")
    request = services.LaunchRequest(deployment=deployment, target_width=1200, target_height=628, n=1, quality="low")
    preview = services.launch_preview(version=draft.versions.get(), request=request)
    assert any("not a documented size on api-version 2025-04-01-preview" in note for note in preview.plan.notes)
