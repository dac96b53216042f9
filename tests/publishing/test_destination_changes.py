"""Destination configuration is audited: adding, changing and deleting a campaign's destination in the
admin each leave one event naming who, which destination and what changed, and no secret reaches the
log (URLs lose their userinfo and their query values, such as a SAS token in a CDN template)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from approvals.publishing.destination_changes import url_without_secrets
from approvals.publishing.destinations import Destination, DestinationKind
from studio.core.models import AuditEvent, Role
from tests import factories as f

pytestmark = pytest.mark.django_db

SAS = "sv=2024-05-04&sig=SECRETSIGNATURE0123&se=2030-01-01"


@pytest.fixture
def staff_admin(workspace):
    user = f.UserFactory(username="ada-staff", is_staff=True)
    f.MembershipFactory(user=user, workspace=workspace, role=Role.ADMIN)
    return user


def _form_data(destination_fields: dict) -> dict:
    base = {
        "kind": DestinationKind.LOCAL,
        "bucket": "",
        "prefix": "",
        "endpoint_url": "",
        "region": "",
        "account_name": "",
        "access_key_env": "",
        "secret_key_env": "",
        "public": "on",
        "public_url_template": "",
        "retract_mode": "delete",
        "retracted_prefix": "retracted/",
    }
    return {**base, **destination_fields}


def _events():
    return list(AuditEvent.objects.filter(action="approvals.destination.changed").order_by("seq"))


def test_add_change_and_delete_are_audited_without_secrets(client, staff_admin, workspace, campaign):
    client.force_login(staff_admin)
    template = f"https://cdn.example.com/{{key}}?{SAS}"
    response = client.post(
        reverse("admin:publishing_destination_add"),
        _form_data(
            {
                "workspace": workspace.pk,
                "campaign": campaign.pk,
                "name": "CDN",
                "bucket": "web",
                "public_url_template": template,
            }
        ),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    destination = Destination.objects.get()

    response = client.post(
        reverse("admin:publishing_destination_change", args=[destination.pk]),
        _form_data({"workspace": workspace.pk, "campaign": campaign.pk, "name": "CDN", "bucket": "web", "public": ""}),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    response = client.post(reverse("admin:publishing_destination_delete", args=[destination.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Destination.objects.exists()

    added, changed, deleted = _events()
    assert [e.data["action"] for e in (added, changed, deleted)] == ["added", "changed", "deleted"]
    assert {e.actor for e in (added, changed, deleted)} == {staff_admin}
    assert {e.subject_id for e in (added, changed, deleted)} == {str(destination.pk)}
    assert added.data["campaign"] == campaign.name
    assert added.data["changes"]["name"]["after"] == "CDN"
    recorded = added.data["changes"]["public_url_template"]["after"]
    assert recorded.startswith("https://cdn.example.com/{key}?sv=")
    assert changed.data["changes"]["public"] == {"before": True, "after": False}
    assert changed.data["changes"]["public_url_template"]["before"] == recorded
    for event in (added, changed, deleted):
        assert "SECRETSIGNATURE" not in str(event.data)


def test_saving_without_a_change_records_nothing(client, staff_admin, workspace, campaign):
    destination = Destination.objects.create(workspace=workspace, campaign=campaign, name="Web", bucket="web")
    client.force_login(staff_admin)
    response = client.post(
        reverse("admin:publishing_destination_change", args=[destination.pk]),
        _form_data({"workspace": workspace.pk, "campaign": campaign.pk, "name": "Web", "bucket": "web"}),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert _events() == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:pa55@blob.example.com/x", "https://(redacted)@blob.example.com/x"),
        (
            f"https://cdn.example.com/{{key}}?{SAS}",
            "https://cdn.example.com/{key}?sv=(redacted)&sig=(redacted)&se=(redacted)",
        ),
        ("https://cdn.example.com/{key}", "https://cdn.example.com/{key}"),
        ("", ""),
        (None, None),
    ],
)
def test_urls_lose_their_secrets(url, expected):
    assert url_without_secrets(url) == expected
