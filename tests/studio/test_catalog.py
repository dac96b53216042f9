"""Built-in catalog, and the size_plan / deployment_upsert commands."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from studio.core.models import AuditEvent
from studio.generation.catalog import catalog_sync
from studio.generation.models import CapabilityProfile, Deployment, PriceTable
from studio.generation.pricing import price_for

pytestmark = pytest.mark.django_db


def test_catalog_sync_creates_profiles_and_prices_once():
    catalog_sync()
    catalog_sync()
    names = set(CapabilityProfile.objects.values_list("name", flat=True))
    assert names == {
        "gpt-image-2",
        "gpt-image-2.5-sunburst",
        "gpt-image-2.5-flare",
        "gpt-image-1.5",
        "gpt-image-1-mini",
    }
    mini = CapabilityProfile.objects.get(name="gpt-image-1-mini")
    assert mini.deprecated
    assert mini.size_mode == "fixed"
    assert mini.supports_input_fidelity
    assert mini.fixed_sizes == ["1024x1024", "1536x1024", "1024x1536"]
    flare = CapabilityProfile.objects.get(name="gpt-image-2.5-flare")
    assert {"xhigh", "max"} <= set(flare.qualities)
    assert flare.supports_markup
    assert not CapabilityProfile.objects.get(name="gpt-image-2").supports_input_fidelity
    foundry = price_for(model_name="gpt-image-2", provider="azure-openai", on=dt.date(2026, 11, 1))
    assert (foundry.provider, foundry.effective_from) == ("azure-openai", dt.date(2026, 4, 21))
    assert [
        foundry.image_input,
        foundry.cached_image_input,
        foundry.image_output,
        foundry.text_input,
        foundry.cached_text_input,
        foundry.text_output,
    ] == [8, 2, 30, 5, Decimal("1.25"), 10]
    assert price_for(model_name="gpt-image-2", provider="offline", on=dt.date(2026, 11, 1)).provider == ""
    assert PriceTable.objects.filter(model_name="gpt-image-2.5-flare").exists()
    assert PriceTable.objects.count() == 6


def test_catalog_sync_keeps_admin_edits():
    catalog_sync()
    CapabilityProfile.objects.filter(name="gpt-image-2").update(max_n=3, backgrounds=["transparent", "opaque"])
    PriceTable.objects.filter(model_name="gpt-image-2", provider="azure-openai").update(image_output=Decimal("25"))
    catalog_sync()
    profile = CapabilityProfile.objects.get(name="gpt-image-2")
    assert profile.max_n == 3
    assert profile.backgrounds == ["transparent", "opaque"]
    assert PriceTable.objects.get(model_name="gpt-image-2", provider="azure-openai").image_output == 25


# --- size_plan ----------------------------------------------------------------------------------------


def test_size_plan_json_on_an_empty_database():
    out = StringIO()
    call_command("size_plan", "--model", "gpt-image-2", "--size", "4000x3000", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["target"] == "4000x3000"
    assert data["generation"] == "3264x2448"
    assert data["pixels"] == 7_990_272
    assert data["crop"] is False
    assert data["notes"] == ["4000x3000 is over the 8,294,400-pixel budget: generating 3264x2448 and scaling up 1.23x"]


def test_size_plan_uses_the_admins_profile_when_present():
    catalog_sync()
    CapabilityProfile.objects.filter(name="gpt-image-2").update(max_pixels=4_000_000)
    out = StringIO()
    call_command("size_plan", "--model", "gpt-image-2", "--size", "4000x3000", "--json", stdout=out)
    assert json.loads(out.getvalue())["pixels"] <= 4_000_000


def test_size_plan_human_output():
    out = StringIO()
    call_command("size_plan", "--model", "gpt-image-1.5", "--size", "1200x628", stdout=out)
    assert "Generate at 1536x1024" in out.getvalue()


@pytest.mark.parametrize("size", ["0x100", "100x0", "-5x100", "abc", "120000x120000", "20000x100"])
def test_size_plan_impossible_sizes_exit_2(size):
    with pytest.raises(CommandError) as caught:
        call_command("size_plan", "--model", "gpt-image-2", f"--size={size}")
    assert caught.value.returncode == 2
    assert "\n" not in str(caught.value)


def test_size_plan_unknown_model_exits_2():
    with pytest.raises(CommandError) as caught:
        call_command("size_plan", "--model", "dall-e-9", "--size", "100x100")
    assert caught.value.returncode == 2
    assert "Unknown model 'dall-e-9'" in str(caught.value)


# --- deployment_upsert --------------------------------------------------------------------------------


def test_deployment_upsert_creates_then_updates_with_audit(workspace):
    call_command(
        "deployment_upsert",
        "--workspace",
        "acme",
        "--name",
        "foundry",
        "--provider",
        "azure-openai",
        "--endpoint",
        "https://acme.openai.azure.com",
        "--model",
        "gpt-image-1.5",
        "--secret-env",
        "IMPRIMATUR_KEY_AZURE_OPENAI",
        "--surface",
        "deployments",
        stdout=StringIO(),
    )
    deployment = Deployment.objects.get(workspace=workspace, name="foundry")
    assert deployment.profile.name == "gpt-image-1.5"
    assert deployment.azure_surface == "deployments"
    created = AuditEvent.objects.get(action="studio.deployment.created")
    assert created.actor is None
    assert created.data["changes"]["secret_env"] == "IMPRIMATUR_KEY_AZURE_OPENAI"

    call_command(
        "deployment_upsert",
        "--workspace",
        "acme",
        "--name",
        "foundry",
        "--provider",
        "azure-openai",
        "--model",
        "img2-prod",
        "--api-version",
        "2025-04-01-preview",
        stdout=StringIO(),
    )
    deployment.refresh_from_db()
    assert deployment.model == "img2-prod"
    assert deployment.profile.name == "gpt-image-2"  # no profile named like the deployment: the default
    assert deployment.endpoint == "https://acme.openai.azure.com"
    updated = AuditEvent.objects.get(action="studio.deployment.updated")
    assert updated.data["changes"] == {"model": "img2-prod", "profile": "gpt-image-2"}


def test_deployment_upsert_refuses_a_secret_in_secret_env(workspace):
    with pytest.raises(CommandError) as caught:
        call_command(
            "deployment_upsert",
            "--workspace",
            "acme",
            "--name",
            "x",
            "--provider",
            "openai",
            "--secret-env",
            "sk-proj-abc123",
        )
    assert "not the key itself" in str(caught.value)
    assert not Deployment.objects.exists()
    assert not AuditEvent.objects.exists()


def test_deployment_upsert_validates_like_the_admin(workspace):
    with pytest.raises(CommandError) as caught:
        call_command(
            "deployment_upsert",
            "--workspace",
            "acme",
            "--name",
            "az",
            "--provider",
            "azure-openai",
            "--secret-env",
            "IMPRIMATUR_KEY_AZURE_OPENAI",
        )
    assert "endpoint" in str(caught.value)
    assert not Deployment.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="studio.deployment").exists()


def test_deployment_upsert_unknown_workspace():
    with pytest.raises(CommandError, match="No workspace"):
        call_command("deployment_upsert", "--workspace", "nope", "--name", "x", "--provider", "offline")


def test_deployment_upsert_refuses_a_timeout_that_would_outlive_the_jobs_lease(workspace):
    with pytest.raises(CommandError) as caught:
        call_command(
            "deployment_upsert",
            "--workspace",
            "acme",
            "--name",
            "slow",
            "--provider",
            "offline",
            "--timeout",
            "1800",
        )
    assert "at most 600 seconds" in str(caught.value)
    assert not Deployment.objects.filter(name="slow").exists()
