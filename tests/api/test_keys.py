"""API keys: stored hashed, shown once, recognisable, audited without the secret; revoked and expired keys
answer 401; the command line and the admins' settings page make them."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from approvals.api import keys as key_services
from approvals.api.models import ApiKey
from studio.core.errors import InvalidInput
from studio.core.models import AuditEvent, Role
from studio.core.permissions import RoleRequired
from tests import factories as f
from tests.api.conftest import Api, key_for, problem

pytestmark = pytest.mark.django_db


def test_key_is_stored_hashed_with_a_recognisable_prefix_and_audited_without_the_secret(workspace, ws_admin, marketer):
    issued = key_services.apikey_create(
        actor=ws_admin, workspace=workspace, user=marketer, name="DAM sync", scopes=["read", "publish"]
    )
    assert issued.key.startswith("imp_live_")
    assert issued.key.startswith(issued.prefix + "_")
    stored = ApiKey.objects.get(pk=issued.api_key.pk)
    assert stored.key_hash == hashlib.sha256(issued.key.encode()).hexdigest()
    assert issued.key not in json.dumps([stored.prefix, stored.key_hash, stored.name, stored.scopes])
    event = AuditEvent.objects.filter(workspace=workspace).order_by("-seq").first()
    assert event.action == "api.key.created"
    assert event.actor == ws_admin
    assert event.data["prefix"] == issued.prefix
    assert event.data["scopes"] == ["read", "publish"]
    secret = issued.key[len(issued.prefix) + 1 :]
    assert all(secret not in json.dumps(e.data) for e in AuditEvent.objects.all())


def test_only_admins_make_keys_and_only_for_members(workspace, marketer, ws_admin):
    with pytest.raises(RoleRequired):
        key_services.apikey_create(actor=marketer, workspace=workspace, user=marketer, name="x", scopes=["read"])
    outsider = f.UserFactory(username="olly")
    with pytest.raises(InvalidInput, match="not a member"):
        key_services.apikey_create(actor=ws_admin, workspace=workspace, user=outsider, name="x", scopes=["read"])
    with pytest.raises(InvalidInput, match="Unknown scope"):
        key_services.apikey_create(actor=ws_admin, workspace=workspace, user=marketer, name="x", scopes=["admin"])


def test_a_key_authenticates_and_records_when_it_was_last_used(workspace, marketer, campaign):
    raw = key_for(marketer, workspace, ["read"])
    response = Api(raw).get("/api/v1/campaigns/")
    assert response.status_code == 200
    assert ApiKey.objects.get().last_used_at is not None


@pytest.mark.parametrize(
    "header",
    ["Bearer imp_live_nonexistent0_secret", "Bearer nonsense", "Bearer", "Basic dXNlcjpwdw==", "Bearer a b"],
)
def test_unknown_or_malformed_keys_are_401_problems(workspace, header):
    from rest_framework.test import APIClient

    client = APIClient()
    response = client.get("/api/v1/campaigns/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert problem(response)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_request_without_a_key_is_401(db):
    from rest_framework.test import APIClient

    response = APIClient().get("/api/v1/campaigns/")
    assert response.status_code == 401
    assert problem(response)["code"] == "not_authenticated"


def test_a_wrong_secret_with_a_real_prefix_is_refused(workspace, marketer):
    raw = key_for(marketer, workspace, ["read"])
    tampered = raw[:-4] + ("AAAA" if not raw.endswith("AAAA") else "BBBB")
    assert Api(tampered).get("/api/v1/campaigns/").status_code == 401


def test_revoked_key_is_401_and_the_revoke_is_audited_once(workspace, ws_admin, marketer):
    issued = key_services.apikey_create(actor=ws_admin, workspace=workspace, user=marketer, name="x", scopes=["read"])
    key_services.apikey_revoke(actor=ws_admin, key=issued.api_key)
    key_services.apikey_revoke(actor=ws_admin, key=issued.api_key)
    assert AuditEvent.objects.filter(action="api.key.revoked").count() == 1
    response = Api(issued.key).get("/api/v1/campaigns/")
    assert response.status_code == 401
    assert "revoked" in problem(response)["detail"]


def test_expired_key_is_401(workspace, marketer):
    raw = key_for(marketer, workspace, ["read"], expires_at=timezone.now() + timedelta(days=1))
    ApiKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = Api(raw).get("/api/v1/campaigns/")
    assert response.status_code == 401
    assert "expired" in problem(response)["detail"]


def test_a_key_whose_user_left_the_workspace_is_401(workspace, marketer):
    raw = key_for(marketer, workspace, ["read"])
    marketer.memberships.all().delete()
    assert Api(raw).get("/api/v1/campaigns/").status_code == 401


def test_command_prints_the_key_once_as_json(workspace, marketer, campaign):
    out = StringIO()
    call_command(
        "apikey_create", "--workspace", "acme", "--user", "mia", "--scopes", "read,generate", "--json", stdout=out
    )
    printed = json.loads(out.getvalue())
    assert set(printed) == {"key", "prefix"}
    assert printed["key"].startswith(printed["prefix"])
    assert ApiKey.objects.get().scopes == ["read", "generate"]
    assert Api(printed["key"]).get("/api/v1/campaigns/").status_code == 200
    assert AuditEvent.objects.filter(action="api.key.created", actor__isnull=True).count() == 1


def test_command_refuses_unknown_workspace_user_and_scope(workspace, marketer):
    with pytest.raises(CommandError, match="slug"):
        call_command("apikey_create", "--workspace", "nope", "--user", "mia", "--scopes", "read")
    with pytest.raises(CommandError, match="No user"):
        call_command("apikey_create", "--workspace", "acme", "--user", "nobody", "--scopes", "read")
    with pytest.raises(CommandError, match="Unknown scope"):
        call_command("apikey_create", "--workspace", "acme", "--user", "mia", "--scopes", "read,root")


# --- the settings page -------------------------------------------------------------------------------------


def test_admin_page_creates_a_key_shows_it_once_and_revokes(client, workspace, ws_admin, marketer):
    client.force_login(ws_admin)
    url = "/w/acme/settings/api-keys/"
    assert client.get(url).status_code == 200
    response = client.post(url, {"name": "CMS", "user": marketer.pk, "scopes": ["read", "publish"]})
    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    key = ApiKey.objects.get()
    page = response.content.decode()
    raw = page.split('id="new-key" class="mono" type="text" readonly value="')[1].split('"')[0]
    assert raw.startswith(key.prefix)
    assert key_services.key_hash(raw) == key.key_hash
    assert raw not in client.get(url).content.decode()
    response = client.post(f"{url}{key.pk}/revoke/")
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.is_revoked
    assert Api(raw).get("/api/v1/campaigns/").status_code == 401


def test_admin_page_refuses_non_members_and_bad_scopes(client, workspace, ws_admin):
    client.force_login(ws_admin)
    outsider = f.UserFactory(username="olly")
    response = client.post("/w/acme/settings/api-keys/", {"name": "x", "user": outsider.pk, "scopes": ["read"]})
    assert response.status_code == 422
    response = client.post("/w/acme/settings/api-keys/", {"name": "x", "user": ws_admin.pk, "scopes": ["root"]})
    assert response.status_code == 422
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize("role", [Role.MARKETER, Role.BRAND_REVIEWER, Role.COMPLIANCE])
def test_only_workspace_admins_see_the_keys_page(client, workspace, role):
    user = f.UserFactory(username=f"u-{role}")
    f.MembershipFactory(user=user, workspace=workspace, role=role)
    client.force_login(user)
    assert client.get("/w/acme/settings/api-keys/").status_code == 403
    other = f.WorkspaceFactory(slug="other")
    f.MembershipFactory(user=user, workspace=other, role=Role.ADMIN)
    key = key_services.apikey_create(actor=None, workspace=other, user=user, name="x", scopes=["read"]).api_key
    assert client.post(f"/w/acme/settings/api-keys/{key.pk}/revoke/").status_code == 403
