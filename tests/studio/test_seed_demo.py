"""`make run` seeds demo data on every start: it must be idempotent and print one login per role."""

from __future__ import annotations

import stat
from io import StringIO

from django.contrib.auth import get_user_model
from django.core.management import call_command

from studio.core.models import AuditEvent, Membership, Role, Workspace
from studio.generation.models import Campaign, CampaignFormat, Deployment
from studio.lib.provenance import manifest_read
from studio.lib.provenance.certificates import private_key_problem
from studio.provenance.demo import DEMO_KEY_ENV, make_chain
from studio.provenance.models import SigningCredential
from studio.provenance.services import SourceOrigin, provenance_sign, signing_credential_save
from tests.factories import png_bytes


def test_seed_demo_is_idempotent_and_prints_logins(db):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=StringIO())
    assert Workspace.objects.filter(slug="demo").count() == 1
    assert Campaign.objects.count() == 1
    assert CampaignFormat.objects.count() == 3
    assert Deployment.objects.filter(provider="offline", is_default=True).count() == 1
    assert set(Membership.objects.values_list("role", flat=True)) == set(Role.values)
    text = out.getvalue()
    for username in ("marketer", "reviewer", "compliance", "admin"):
        assert f"{username:<11} / {username}-demo-pass" in text
        assert get_user_model().objects.get(username=username).check_password(f"{username}-demo-pass")


def test_login_page_lists_demo_logins_only_when_enabled(client, db, settings):
    call_command("seed_demo", quiet=True)
    settings.IMPRIMATUR_SHOW_DEMO_LOGINS = True
    assert "reviewer-demo-pass" in client.get("/accounts/login/").content.decode()
    settings.IMPRIMATUR_SHOW_DEMO_LOGINS = False
    assert "reviewer-demo-pass" not in client.get("/accounts/login/").content.decode()


def test_seed_demo_signs_with_a_throwaway_certificate_when_asked(db, tmp_path, monkeypatch):
    """`make run` passes --signing-key-file: the demo's renditions then carry a signed C2PA manifest, with
    the key kept out of the database, in a file for the IMPRIMATUR_KEY_ variable the certificate names."""
    monkeypatch.setenv(DEMO_KEY_ENV, "")  # restored afterwards: the seed sets it for its own process
    call_command("seed_demo", quiet=True)
    assert not SigningCredential.objects.exists()  # without the option, as in a new workspace
    key_file = tmp_path / "var" / "demo.key"
    out = StringIO()
    call_command("seed_demo", signing_key_file=key_file, stdout=out)
    credential = SigningCredential.objects.get(workspace__slug="demo")
    assert credential.private_key_env == DEMO_KEY_ENV
    assert "(demo)" in credential.organization
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key_pem = key_file.read_text()
    assert private_key_problem(credential.certificate_chain, key_pem) is None
    assert key_pem not in credential.certificate_chain
    assert f"its key is in {key_file}" in out.getvalue()
    configured = AuditEvent.objects.filter(action="provenance.credential.configured", actor__username="admin")
    assert configured.count() == 1
    # Seeding again keeps a certificate that still signs with the key in the file.
    call_command("seed_demo", quiet=True, signing_key_file=key_file)
    assert SigningCredential.objects.get().fingerprint_sha256 == credential.fingerprint_sha256
    assert configured.count() == 1
    # With the key in the variable (as `make run` sets it), a published rendition is signed.
    monkeypatch.setenv(DEMO_KEY_ENV, key_pem)
    signed = provenance_sign(
        workspace=Workspace.objects.get(slug="demo"),
        source=png_bytes(64, 48),
        rendition=png_bytes(32, 24),
        origin=SourceOrigin(offline=True, model="offline", variant_id=1),
    )
    assert signed.summary["status"] == "signed"
    assert manifest_read(signed.data, "image/png").state == "Valid"


def test_seed_demo_never_replaces_an_admins_certificate(db, tmp_path, monkeypatch):
    call_command("seed_demo", quiet=True)
    chain = make_chain(organization="Demo Brand")
    monkeypatch.setenv("IMPRIMATUR_KEY_BRAND", chain.key_pem)
    monkeypatch.setenv(DEMO_KEY_ENV, "")
    workspace = Workspace.objects.get(slug="demo")
    admin = get_user_model().objects.get(username="admin")
    signing_credential_save(
        actor=admin, workspace=workspace, certificate_chain=chain.chain_pem, private_key_env="IMPRIMATUR_KEY_BRAND"
    )
    out = StringIO()
    call_command("seed_demo", signing_key_file=tmp_path / "demo.key", stdout=out)
    assert SigningCredential.objects.get().private_key_env == "IMPRIMATUR_KEY_BRAND"
    assert not (tmp_path / "demo.key").exists()
    assert "the certificate an admin configured" in out.getvalue()
