"""Why Content Credentials could not be signed or configured, in words a marketer or admin can act on."""

from __future__ import annotations

from studio.core.errors import InvalidInput, Refusal


class CredentialRejected(InvalidInput):
    """The uploaded certificate or the key variable cannot sign (said why)."""

    code = "credential_rejected"


class CertificateExpired(Refusal):
    """The workspace's certificate is out of its validity period at publish time."""

    code = "certificate_expired"


class SigningUnavailable(Refusal):
    """The certificate is configured but its key cannot be read, or c2pa refused to sign."""

    code = "signing_unavailable"
