"""The certificate form: a PEM chain (file or pasted) and the name of the variable holding the key."""

from __future__ import annotations

from django import forms

from studio.provenance.keys import ENV_VAR_VALIDATOR

MAX_CHAIN_BYTES = 64 * 1024  # a chain of a few certificates is a few KB


class SigningCredentialForm(forms.Form):
    certificate_file = forms.FileField(
        required=False,
        label="Certificate chain file (.pem)",
        help_text="The signing certificate first, then any intermediates. Never the private key.",
    )
    certificate_text = forms.CharField(
        required=False,
        label="…or paste the chain",
        widget=forms.Textarea(attrs={"rows": 6, "class": "mono", "spellcheck": "false", "autocomplete": "off"}),
    )
    private_key_env = forms.CharField(
        max_length=80,
        label="Environment variable with the private key",
        validators=[ENV_VAR_VALIDATOR],
        help_text="e.g. IMPRIMATUR_KEY_C2PA: the operator puts the PEM key there; this page never sees it.",
    )

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("certificate_file")
        text = (cleaned.get("certificate_text") or "").strip()
        if upload is not None:
            if upload.size > MAX_CHAIN_BYTES:
                self.add_error("certificate_file", "That file is too large for a certificate chain (64 KB at most).")
                return cleaned
            try:
                text = upload.read().decode("ascii").strip()
            except UnicodeDecodeError:
                self.add_error("certificate_file", "That file is not a PEM certificate chain (it is not text).")
                return cleaned
        if "PRIVATE KEY" in text:
            if upload is None:  # never echo a pasted key back into the page
                self.data = self.data.copy()
                self.data["certificate_text"] = ""
            self.add_error(
                "certificate_text" if upload is None else "certificate_file",
                "That contains a private key: never upload it. Give the operator the key for the environment "
                "variable and upload only the certificates.",
            )
            return cleaned
        if not text:
            self.add_error("certificate_file", "Choose the certificate chain file, or paste the chain.")
        elif len(text) > MAX_CHAIN_BYTES:
            self.add_error("certificate_text", "That is too long for a certificate chain (64 KB at most).")
        cleaned["certificate_chain"] = text
        return cleaned
