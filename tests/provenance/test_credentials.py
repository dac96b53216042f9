"""Setting a workspace's signing certificate: checked before it is saved (c2pa's rules, validity, the
key variable and the key itself), audited without the key, admins only."""

from __future__ import annotations

import datetime as dt

import pytest

from studio.core.models import AuditEvent
from studio.core.permissions import RoleRequired
from studio.provenance.errors import CredentialRejected
from studio.provenance.models import SigningCredential
from studio.provenance.services import signing_credential_remove, signing_credential_save
from tests.provenance.certs import SERVER_AUTH, make_chain
from tests.provenance.conftest import KEY_ENV

pytestmark = pytest.mark.django_db


def _save(actor, workspace, chain, env=KEY_ENV):
    return signing_credential_save(
        actor=actor, workspace=workspace, certificate_chain=chain.chain_pem, private_key_env=env
    )


def test_an_admin_sets_the_certificate_and_the_audit_names_it_without_the_key(credential, chain, workspace):
    assert credential.subject == "Acme Content Credentials"
    assert credential.issuer == "Acme Test Root"
    assert credential.algorithm == "es256"
    assert credential.private_key_env == KEY_ENV
    assert "PRIVATE KEY" not in credential.certificate_chain
    event = AuditEvent.objects.get(action="provenance.credential.configured")
    assert event.subject_id == str(workspace.pk)
    assert event.data["fingerprint_sha256"] == credential.fingerprint_sha256
    assert event.data["private_key_env"] == KEY_ENV
    assert event.data["replaced_fingerprint_sha256"] == ""
    assert "PRIVATE KEY" not in str(event.data)
    assert chain.key_pem not in str(event.data)


def test_replacing_records_the_old_fingerprint(credential, ws_admin, workspace, monkeypatch):
    newer = make_chain()
    monkeypatch.setenv(KEY_ENV, newer.key_pem)
    replaced = _save(ws_admin, workspace, newer)
    assert replaced.pk == credential.pk
    assert SigningCredential.objects.count() == 1
    event = AuditEvent.objects.filter(action="provenance.credential.configured").order_by("-seq").first()
    assert event.data["replaced_fingerprint_sha256"] == credential.fingerprint_sha256


def test_only_admins(workspace, marketer, chain, monkeypatch):
    monkeypatch.setenv(KEY_ENV, chain.key_pem)
    with pytest.raises(RoleRequired):
        _save(marketer, workspace, chain)
    assert not SigningCredential.objects.exists()


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ("DJANGO_SECRET_KEY", "site's own secret"),
        ("DATABASE_PASSWORD", "not a variable set aside for keys"),
        ("IMPRIMATUR_KEY_UNSET_FOR_TEST", "is not set on this server"),
    ],
)
def test_the_key_variable_must_be_set_aside_and_set(workspace, ws_admin, chain, env, words, monkeypatch):
    monkeypatch.setenv("DATABASE_PASSWORD", chain.key_pem)
    monkeypatch.delenv("IMPRIMATUR_KEY_UNSET_FOR_TEST", raising=False)
    with pytest.raises(CredentialRejected, match=words) as caught:
        _save(ws_admin, workspace, chain, env=env)
    assert "private_key_env" in caught.value.field_errors


def test_a_key_of_another_certificate_is_refused(workspace, ws_admin, chain, monkeypatch):
    monkeypatch.setenv(KEY_ENV, make_chain().key_pem)
    with pytest.raises(CredentialRejected, match="does not belong to the signing certificate"):
        _save(ws_admin, workspace, chain)


def test_an_expired_or_wrong_usage_certificate_is_refused_on_upload(workspace, ws_admin, monkeypatch):
    now = dt.datetime.now(dt.UTC)
    expired = make_chain(not_before=now - dt.timedelta(days=60), not_after=now - dt.timedelta(days=1))
    monkeypatch.setenv(KEY_ENV, expired.key_pem)
    with pytest.raises(CredentialRejected, match="expired on"):
        _save(ws_admin, workspace, expired)
    server = make_chain(eku=SERVER_AUTH)
    monkeypatch.setenv(KEY_ENV, server.key_pem)
    with pytest.raises(CredentialRejected, match="extended key usage"):
        _save(ws_admin, workspace, server)
    assert not SigningCredential.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="provenance.").exists()


def test_remove_is_audited_and_idempotent(credential, ws_admin, workspace):
    signing_credential_remove(actor=ws_admin, workspace=workspace)
    signing_credential_remove(actor=ws_admin, workspace=workspace)
    assert not SigningCredential.objects.exists()
    removed = AuditEvent.objects.filter(action="provenance.credential.removed")
    assert removed.count() == 1
    assert removed.get().data["fingerprint_sha256"] == credential.fingerprint_sha256
