"""Content Credentials signing: one certificate chain per workspace, configured by its admins.

The private key is never stored: the row names the environment variable that holds it (the same rule
as deployments' API keys: only variables the operator set aside, ``IMPRIMATUR_KEY_...``). What the
certificate says (subject, issuer, validity) is parsed once, when it is uploaded, for the page and the
publish-time expiry check."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from studio.core.models import Workspace
from studio.provenance.keys import ENV_VAR_VALIDATOR


class SigningCredential(models.Model):
    audit_subject_kind = "provenance.signingcredential"

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="signing_credential")
    certificate_chain = models.TextField(help_text="PEM: the signing certificate first, then its intermediates")
    private_key_env = models.CharField(
        max_length=80,
        validators=[ENV_VAR_VALIDATOR],
        help_text="Name of the environment variable holding the PEM private key (never the key itself)",
    )
    algorithm = models.CharField(max_length=8)
    subject = models.CharField(max_length=300)
    organization = models.CharField(max_length=300, blank=True)
    issuer = models.CharField(max_length=300)
    serial_number = models.CharField(max_length=80)
    fingerprint_sha256 = models.CharField(max_length=64)
    not_valid_before = models.DateTimeField()
    not_valid_after = models.DateTimeField()
    configured_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    configured_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "Content Credentials signing certificate"

    def __str__(self) -> str:
        return f"{self.subject} for {self.workspace} (until {self.not_valid_after:%Y-%m-%d})"
