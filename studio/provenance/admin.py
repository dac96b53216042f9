"""Django admin: the certificates are visible to staff, read-only (changes go through the page, which
checks and audits them)."""

from django.contrib import admin

from studio.provenance.models import SigningCredential


@admin.register(SigningCredential)
class SigningCredentialAdmin(admin.ModelAdmin):
    list_display = ("workspace", "subject", "issuer", "not_valid_after", "private_key_env", "configured_by")
    readonly_fields = [field.name for field in SigningCredential._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
