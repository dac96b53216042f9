"""The Content Credentials page: admins only (403 for other members, 404 across the workspace wall),
upload by file or paste, refusals shown on the form, the key never on the page."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from studio.core.models import AuditEvent, Role
from studio.provenance.models import SigningCredential
from tests import factories as f
from tests.approvals.factories_reviews import member
from tests.provenance.certs import make_chain
from tests.provenance.conftest import KEY_ENV

pytestmark = pytest.mark.django_db

URL = reverse("provenance:credentials", kwargs={"slug": "acme"})
REMOVE = reverse("provenance:credentials_remove", kwargs={"slug": "acme"})


def test_admins_see_the_page_and_other_members_get_403(client, workspace, ws_admin, marketer, compliance):
    client.force_login(ws_admin)
    response = client.get(URL)
    assert response.status_code == 200
    assert "No certificate yet" in response.content.decode()
    for person in (marketer, compliance):
        client.force_login(person)
        assert client.get(URL).status_code == 403
        assert client.post(REMOVE).status_code == 403


def test_another_workspaces_admin_gets_404(client, workspace, credential):
    other = f.WorkspaceFactory(slug="globex", name="Globex")
    outsider = member(other, "olga", Role.ADMIN)
    client.force_login(outsider)
    assert client.get(URL).status_code == 404
    assert client.post(REMOVE).status_code == 404
    assert SigningCredential.objects.filter(workspace=workspace).exists()


def test_upload_a_chain_file(client, workspace, ws_admin, chain, monkeypatch):
    monkeypatch.setenv(KEY_ENV, chain.key_pem)
    client.force_login(ws_admin)
    upload = SimpleUploadedFile("chain.pem", chain.chain_pem.encode(), content_type="application/x-pem-file")
    response = client.post(URL, {"certificate_file": upload, "private_key_env": KEY_ENV})
    assert response.status_code == 302
    page = client.get(URL).content.decode()
    assert "Acme Content Credentials" in page
    assert KEY_ENV in page
    assert "PRIVATE KEY" not in page
    assert chain.key_pem.splitlines()[1] not in page
    assert AuditEvent.objects.filter(action="provenance.credential.configured").count() == 1


def test_paste_and_a_refusal_is_shown_on_the_form(client, workspace, ws_admin, monkeypatch):
    client.force_login(ws_admin)
    self_signed = make_chain(self_signed=True)
    monkeypatch.setenv(KEY_ENV, self_signed.key_pem)
    response = client.post(URL, {"certificate_text": self_signed.chain_pem, "private_key_env": KEY_ENV})
    assert response.status_code == 422
    assert "self-signed" in response.content.decode()
    assert not SigningCredential.objects.exists()


def test_a_pasted_private_key_is_refused_and_not_echoed(client, workspace, ws_admin, chain):
    client.force_login(ws_admin)
    response = client.post(URL, {"certificate_text": chain.chain_pem + chain.key_pem, "private_key_env": KEY_ENV})
    assert response.status_code == 422
    text = response.content.decode()
    assert "That contains a private key" in text
    assert chain.key_pem.splitlines()[1] not in text


def test_nothing_given_and_a_bad_variable_name(client, workspace, ws_admin, chain):
    client.force_login(ws_admin)
    response = client.post(URL, {"private_key_env": "lower-case"})
    assert response.status_code == 422
    text = response.content.decode()
    assert "Choose the certificate chain file" in text
    assert "Give the name of an environment variable" in text


def test_an_expired_certificate_is_flagged_on_the_page(client, credential, ws_admin):
    credential.not_valid_after = credential.not_valid_before
    credential.save()
    client.force_login(ws_admin)
    assert "publishing is refused until a new one is uploaded" in client.get(URL).content.decode()


def test_remove(client, credential, ws_admin):
    client.force_login(ws_admin)
    assert client.post(REMOVE).status_code == 302
    assert not SigningCredential.objects.exists()
    assert client.get(REMOVE).status_code == 405


def test_the_workspace_page_links_admins_to_the_page(client, workspace, ws_admin, marketer):
    page = reverse("studio:workspace", kwargs={"slug": workspace.slug})
    client.force_login(ws_admin)
    assert f'href="{URL}"' in client.get(page).content.decode()
    client.force_login(marketer)
    response = client.get(page)
    assert response.status_code == 200
    assert f'href="{URL}"' not in response.content.decode()
