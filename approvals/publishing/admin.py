"""Admin: publications are read-only here; they are made through the publishing service, so audited.
Destinations are configuration, edited by workspace admins within their workspaces."""

from django.contrib import admin

from approvals.publishing.models import Destination, Publication
from studio.generation.admin_scoping import ReadOnlyScopedAdmin, WorkspaceScopedAdmin


@admin.register(Publication)
class PublicationAdmin(ReadOnlyScopedAdmin):
    list_display = (
        "pk",
        "workspace",
        "variant",
        "target_format",
        "destination",
        "width",
        "height",
        "status",
        "created_at",
    )
    list_select_related = ("workspace", "variant__draft", "target_format", "destination")


@admin.register(Destination)
class DestinationAdmin(WorkspaceScopedAdmin):
    """Credentials are environment-variable names only (the prefix rule of deployments' keys)."""

    list_display = ("name", "campaign", "kind", "bucket", "public", "retract_mode", "is_default")
    list_filter = ("kind", "workspace")
    list_select_related = ("campaign", "workspace")
    fieldsets = (
        (None, {"fields": ("workspace", "campaign", "name", "kind", "is_default")}),
        ("Where", {"fields": ("bucket", "prefix", "endpoint_url", "region", "account_name")}),
        ("Credentials (environment variable names)", {"fields": ("access_key_env", "secret_key_env")}),
        (
            "Public address and retract",
            {"fields": ("public", "public_url_template", "retract_mode", "retracted_prefix")},
        ),
    )
