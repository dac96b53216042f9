"""Admin: publications are read-only here; they are made through the publishing service, so audited."""

from django.contrib import admin

from approvals.publishing.models import Publication
from studio.generation.admin_scoping import ReadOnlyScopedAdmin


@admin.register(Publication)
class PublicationAdmin(ReadOnlyScopedAdmin):
    list_display = ("pk", "workspace", "variant", "target_format", "width", "height", "status", "created_at")
    list_select_related = ("workspace", "variant__draft", "target_format")
