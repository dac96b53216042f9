"""Issue 10: admin changes to the global tables (price tables, safety rule packs) reach the audit chains of
the workspaces they apply to; and ``deployment_upsert`` sets (and audits) a deployment's timeout and
retry budget."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from studio.core.models import AuditEvent, Sector
from studio.generation.models import Deployment, PriceTable
from studio.safety.models import SafetyRule
from tests import factories as f


@pytest.fixture
def operator(db):
    return f.UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def client(operator) -> Client:
    client = Client()
    client.force_login(operator)
    return client


def _price_form(price: PriceTable, **overrides) -> dict:
    data = {
        field: str(getattr(price, field))
        for field in (
            "model_name",
            "provider",
            "effective_from",
            "image_input",
            "cached_image_input",
            "image_output",
            "text_input",
            "cached_text_input",
            "text_output",
        )
    }
    return {**data, **overrides}


def test_a_price_change_in_the_admin_is_recorded_in_every_workspace(client, workspace, price_table):
    other = f.WorkspaceFactory()
    response = client.post(
        reverse("admin:studio_pricetable_change", args=[price_table.pk]), _price_form(price_table, image_output="45")
    )
    assert response.status_code == 302
    events = AuditEvent.objects.filter(action="studio.price_table.changed")
    assert {e.workspace_id for e in events} == {workspace.pk, other.pk}
    event = events.first()
    assert event.data["changes"]["image_output"]["after"] == "45"
    assert event.data["via"] == "admin"
    response = client.post(reverse("admin:studio_pricetable_delete", args=[price_table.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="studio.price_table.changed", data__action="deleted").count() == 2


def test_a_rule_pack_entry_added_in_the_admin_is_recorded_in_its_sectors_workspaces(client, workspace):
    bank = f.WorkspaceFactory(sector=Sector.FINANCIAL)
    response = client.post(
        reverse("admin:safety_safetyrule_add"),
        {
            "sector": Sector.FINANCIAL,
            "category": "Guaranteed returns",
            "pattern": "risk free",
            "verdict": "review",
            "advice": "Say what the risks are.",
            "active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = SafetyRule.objects.get(pattern="risk free")
    events = AuditEvent.objects.filter(action="studio.safety_rule.changed")
    assert [e.workspace_id for e in events] == [bank.pk]  # not the general workspace
    assert events.get().subject_id == str(rule.pk)


def test_deployment_upsert_sets_and_audits_the_timeout_and_retry_budget(workspace, profile):
    call_command(
        "deployment_upsert",
        workspace=workspace.slug,
        name="slow-model",
        provider="offline",
        model="gpt-image-2",
        timeout=300,
        retry_budget=1200,
    )
    deployment = Deployment.objects.get(name="slow-model")
    assert (deployment.request_timeout_seconds, deployment.retry_budget_seconds) == (300, 1200)
    call_command("deployment_upsert", workspace=workspace.slug, name="slow-model", provider="offline", timeout=90)
    deployment.refresh_from_db()
    assert (deployment.request_timeout_seconds, deployment.retry_budget_seconds) == (90, 1200)
    updated = AuditEvent.objects.get(action="studio.deployment.updated")
    assert updated.data["changes"] == {"request_timeout_seconds": "90"}
