"""What a Content Credentials signing certificate says, and why c2pa would refuse it, read with
``cryptography`` before anything is signed: an admin learns about a wrong certificate when uploading it,
not when a publication fails at night."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# The extended key usages the C2PA specification lets a claim signer carry (c2pa-rs checks the same list;
# time-stamping and OCSP signing are accepted there too, but they are for other certificates).
SIGNING_EKUS = {
    ExtendedKeyUsageOID.EMAIL_PROTECTION.dotted_string: "email protection",
    "1.3.6.1.5.5.7.3.36": "document signing",
    "1.3.6.1.4.1.311.76.59.1.9": "Microsoft C2PA signing",
    "1.3.6.1.4.1.62558.2.1": "C2PA claim signing",
}
_CURVE_ALGORITHMS = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}


class CertificateProblem(ValueError):
    """The certificate (or its key) cannot sign Content Credentials; ``message`` says why in plain words."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class CertificateFacts:
    """The signing (first) certificate of a chain, as the page and the summary show it."""

    subject: str
    organization: str
    issuer: str
    serial_number: str
    fingerprint_sha256: str
    not_valid_before: datetime
    not_valid_after: datetime
    algorithm: str  # c2pa's name: es256, es384, es512, ps256, ed25519
    chain_length: int

    def validity_problem(self, now: datetime) -> str | None:
        """Why the certificate cannot sign at ``now`` (expired, or not valid yet), else None."""
        if now > self.not_valid_after:
            return f"The Content Credentials certificate expired on {self.not_valid_after:%Y-%m-%d}"
        if now < self.not_valid_before:
            return f"The Content Credentials certificate is not valid until {self.not_valid_before:%Y-%m-%d}"
        return None


def _name(name: x509.Name, oid) -> str:
    values = name.get_attributes_for_oid(oid)
    return str(values[0].value) if values else ""


def _algorithm(public_key) -> str:
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        algorithm = _CURVE_ALGORITHMS.get(public_key.curve.name)
        if algorithm:
            return algorithm
        raise CertificateProblem(
            f"The certificate's key uses the curve {public_key.curve.name}; use P-256, P-384 or P-521."
        )
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return "ed25519"
    if isinstance(public_key, rsa.RSAPublicKey):
        if public_key.key_size < 2048:
            raise CertificateProblem("The certificate's RSA key is shorter than 2048 bits.")
        return "ps256"
    raise CertificateProblem(
        "The certificate's key type cannot sign Content Credentials: use an EC, RSA or Ed25519 key."
    )


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    key = issuer.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm)
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes)
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, TypeError, ValueError):
        return False
    return True


def _load_chain(chain_pem: str) -> list[x509.Certificate]:
    try:
        chain = x509.load_pem_x509_certificates(chain_pem.encode())
    except ValueError as exc:
        raise CertificateProblem("That is not a PEM certificate chain (-----BEGIN CERTIFICATE----- blocks).") from exc
    if not chain:
        raise CertificateProblem("The file holds no certificate.")
    return chain


def _check_signer(cert: x509.Certificate) -> None:
    try:
        if cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            raise CertificateProblem(
                "The first certificate is a certificate authority; put the signing certificate first in the chain."
            )
    except x509.ExtensionNotFound:
        pass
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound as exc:
        raise CertificateProblem("The signing certificate has no key usage; it needs digital signature.") from exc
    if not usage.digital_signature:
        raise CertificateProblem("The signing certificate's key usage does not allow digital signatures.")
    try:
        ekus = {oid.dotted_string for oid in cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value}
    except x509.ExtensionNotFound as exc:
        raise CertificateProblem(
            "The signing certificate has no extended key usage; C2PA needs document signing or email protection."
        ) from exc
    if not ekus & set(SIGNING_EKUS):
        raise CertificateProblem(
            "The signing certificate's extended key usage does not allow Content Credentials "
            "(it needs document signing, email protection or C2PA claim signing)."
        )
    if cert.issuer == cert.subject and _signed_by(cert, cert):
        raise CertificateProblem(
            "The signing certificate is self-signed; Content Credentials need one issued by a certificate authority."
        )


def certificate_facts(chain_pem: str) -> CertificateFacts:
    """The facts of ``chain_pem``'s signing certificate, or ``CertificateProblem``: not PEM, a CA or a
    self-signed certificate first, no digital-signature key usage, no C2PA extended key usage, an
    unsupported key, or a chain whose certificates do not sign one another in order."""
    chain = _load_chain(chain_pem)
    signer = chain[0]
    _check_signer(signer)
    for cert, issuer in zip(chain, chain[1:], strict=False):
        if cert.issuer != issuer.subject or not _signed_by(cert, issuer):
            raise CertificateProblem(
                f"The chain is out of order: {cert.subject.rfc4514_string()} "
                "was not issued by the certificate after it."
            )
    return CertificateFacts(
        subject=_name(signer.subject, NameOID.COMMON_NAME) or signer.subject.rfc4514_string(),
        organization=_name(signer.subject, NameOID.ORGANIZATION_NAME),
        issuer=_name(signer.issuer, NameOID.COMMON_NAME) or signer.issuer.rfc4514_string(),
        serial_number=format(signer.serial_number, "x"),
        fingerprint_sha256=hashlib.sha256(signer.public_bytes(serialization.Encoding.DER)).hexdigest(),
        not_valid_before=signer.not_valid_before_utc,
        not_valid_after=signer.not_valid_after_utc,
        algorithm=_algorithm(signer.public_key()),
        chain_length=len(chain),
    )


def private_key_problem(chain_pem: str, key_pem: str) -> str | None:
    """Why ``key_pem`` cannot sign for ``chain_pem``'s signing certificate (unreadable, encrypted, or the
    key of another certificate), else None. The key itself never appears in the message."""
    try:
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except TypeError:
        return "The private key is protected by a passphrase; store it unencrypted in the environment variable."
    except (ValueError, UnsupportedAlgorithm):
        return "The environment variable does not hold a PEM private key."
    cert_key = _load_chain(chain_pem)[0].public_key()
    raw = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*raw) != cert_key.public_bytes(*raw):
        return "The private key does not belong to the signing certificate."
    return None
