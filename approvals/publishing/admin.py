"""Admin: publications are read-only here; they are made through the publishing service, so audited.
Destinations are configuration, edited by workspace admins within their workspaces; each add, change and
delete is audited (``destination_changes``), with secrets taken out of URLs."""

from django.contrib import admin
from django.db import models

from approvals.publishing.destination_changes import destination_change_record
from approvals.publishing.models import Destination, Publication
from studio.generation.admin_scoping import ReadOnlyScopedAdmin, WorkspaceScopedAdmin, form_changes


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
    # An endpoint typed without a scheme means https (Django 6's default; 5.2 warns about its http one).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = (
        (None, {"fields": ("workspace", "campaign", "name", "kind", "is_default")}),
        ("Where", {"fields": ("bucket", "prefix", "endpoint_url", "region", "account_name")}),
        ("Credentials (environment variable names)", {"fields": ("access_key_env", "secret_key_env")}),
        (
            "Public address and retract",
            {"fields": ("public", "public_url_template", "retract_mode", "retracted_prefix")},
        ),
    )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        changes = form_changes(form)
        if changes or not change:
            destination_change_record(
                actor=request.user,
                destination=obj,
                action="changed" if change else "added",
                changes=changes,
                via="admin",
            )

    def delete_model(self, request, obj):
        destination_change_record(actor=request.user, destination=obj, action="deleted", changes={}, via="admin")
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:  # one record each, like a single delete
            self.delete_model(request, obj)
