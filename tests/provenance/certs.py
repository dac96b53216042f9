"""Throwaway certificate chains for the tests, made with ``cryptography``: a root CA and a signing
certificate with what C2PA asks of a claim signer (digital-signature key usage, an extended key usage
from the C2PA list, not a CA, issued by the root). Email protection by default: the one EKU c2pa's
default reader settings accept too (document signing and C2PA claim signing need its trust_config)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")
C2PA_CLAIM_SIGNING = x509.ObjectIdentifier("1.3.6.1.4.1.62558.2.1")


@dataclass(frozen=True)
class TestChain:
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
    eku: x509.ObjectIdentifier | None = ExtendedKeyUsageOID.EMAIL_PROTECTION,
    digital_signature: bool = True,
    self_signed: bool = False,
) -> TestChain:
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
    return TestChain(chain_pem=chain, key_pem=key_pem, root_pem=root_pem)


EMAIL_PROTECTION = ExtendedKeyUsageOID.EMAIL_PROTECTION
SERVER_AUTH = ExtendedKeyUsageOID.SERVER_AUTH
