"""Throwaway certificate chains, made with ``cryptography``: the demo workspace's (so ``make run``'s
publications show Content Credentials) and the tests'.

A chain is a root CA and a signing certificate with what C2PA asks of a claim signer (digital-signature
key usage, an extended key usage from the C2PA list, not a CA, issued by the root). Email protection by
default: the one EKU c2pa's default reader settings accept too (document signing and C2PA claim signing
need its trust_config). Nobody trusts these roots: a reader shows the manifest and says its signer is
unknown, which is the truth about a demo.

The demo's private key goes where an admin's does, into an ``IMPRIMATUR_KEY_`` environment variable
(``DEMO_KEY_ENV``); the database never holds it. ``demo_credential_ensure`` keeps it in a file under the
var directory, and ``make run`` sets the variable from that file for the web server and the worker.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.utils import timezone

from studio.core.models import Workspace
from studio.lib.provenance.certificates import private_key_problem
from studio.provenance.models import SigningCredential
from studio.provenance.services import signing_credential_save

DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")
C2PA_CLAIM_SIGNING = x509.ObjectIdentifier("1.3.6.1.4.1.62558.2.1")
EMAIL_PROTECTION = ExtendedKeyUsageOID.EMAIL_PROTECTION
SERVER_AUTH = ExtendedKeyUsageOID.SERVER_AUTH

DEMO_KEY_ENV = "IMPRIMATUR_KEY_DEMO_C2PA"
DEMO_VALID_DAYS = 365
RENEW_WITHIN_DAYS = 30  # a demo certificate closer than this to its end is replaced on the next seed


@dataclass(frozen=True)
class ThrowawayChain:
    chain_pem: str  # signing certificate first, then the root
    key_pem: str
    root_pem: str


def _name(common_name: str, organization: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        ]
    )


def _usage(*, signing: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signing,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=not signing,
        crl_sign=not signing,
        encipher_only=False,
        decipher_only=False,
    )


def make_chain(
    *,
    organization: str = "Acme",
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    eku: x509.ObjectIdentifier | None = EMAIL_PROTECTION,
    digital_signature: bool = True,
    self_signed: bool = False,
) -> ThrowawayChain:
    """A fresh chain (valid from yesterday for 90 days unless told otherwise); the options make the
    broken certificates the tests need."""
    now = dt.datetime.now(dt.UTC)
    not_before = not_before or now - dt.timedelta(days=1)
    not_after = not_after or now + dt.timedelta(days=90)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name(f"{organization} Test Root", organization)
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=400))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_usage(signing=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(f"{organization} Content Credentials", organization)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject if self_signed else root_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(signing=digital_signature), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
    if not self_signed:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False
        )
    leaf = builder.sign(key if self_signed else root_key, hashes.SHA256())
    pem = serialization.Encoding.PEM
    root_pem = root.public_bytes(pem).decode()
    chain = leaf.public_bytes(pem).decode() + ("" if self_signed else root_pem)
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    return ThrowawayChain(chain_pem=chain, key_pem=key_pem, root_pem=root_pem)


def _still_signs(credential: SigningCredential, key_pem: str | None) -> bool:
    if not key_pem:
        return False
    if credential.not_valid_after <= timezone.now() + dt.timedelta(days=RENEW_WITHIN_DAYS):
        return False
    return private_key_problem(credential.certificate_chain, key_pem) is None


def _write_key(path: Path, key_pem: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key_pem)
    path.chmod(0o600)


def demo_credential_ensure(*, actor, workspace: Workspace, key_file: Path) -> tuple[SigningCredential, str]:
    """Give ``workspace`` a throwaway signing certificate whose private key is in ``key_file`` (mode 600)
    and, for this process, in ``DEMO_KEY_ENV``. A demo certificate that still signs with that key is kept;
    a certificate an admin configured (another key variable) is never replaced. Saved through
    ``signing_credential_save``, as an admin would (checked by a trial signature, audited).

    Returns the workspace's credential and what happened: "made", "kept" or "admin's"."""
    existing = SigningCredential.objects.filter(workspace=workspace).first()
    if existing is not None and existing.private_key_env != DEMO_KEY_ENV:
        return existing, "admin's"
    key_pem = key_file.read_text() if key_file.is_file() else None
    if existing is not None and _still_signs(existing, key_pem):
        os.environ[DEMO_KEY_ENV] = key_pem
        return existing, "kept"
    chain = make_chain(
        organization=f"{workspace.name} (demo)",
        not_after=dt.datetime.now(dt.UTC) + dt.timedelta(days=DEMO_VALID_DAYS),
    )
    _write_key(key_file, chain.key_pem)
    os.environ[DEMO_KEY_ENV] = chain.key_pem  # the check in signing_credential_save reads it from there
    credential = signing_credential_save(
        actor=actor, workspace=workspace, certificate_chain=chain.chain_pem, private_key_env=DEMO_KEY_ENV
    )
    return credential, "made"
