"""Content Credentials without the database: certificate checks, the XMP digital source type, and the
C2PA manifests (built, signed and read with c2pa-python). The app ``studio.provenance`` stores the
credentials and decides when to sign; this package only knows bytes and PEM."""

from studio.lib.provenance.certificates import CertificateFacts, CertificateProblem, certificate_facts
from studio.lib.provenance.manifests import (
    ALGORITHMIC_MEDIA,
    TRAINED_ALGORITHMIC_MEDIA,
    ManifestReport,
    SignerConfig,
    manifest_read,
    manifest_sign,
)
from studio.lib.provenance.xmp import digital_source_type_in, with_digital_source_type

__all__ = [
    "ALGORITHMIC_MEDIA",
    "TRAINED_ALGORITHMIC_MEDIA",
    "CertificateFacts",
    "CertificateProblem",
    "ManifestReport",
    "SignerConfig",
    "certificate_facts",
    "digital_source_type_in",
    "manifest_read",
    "manifest_sign",
    "with_digital_source_type",
]
