"""Admin: publications are read-only here; they are made through the publishing service, so audited."""

from django.contrib import admin

from approvals.publishing.models import Publication


@admin.register(Publication)
class PublicationAdmin(admin.ModelAdmin):
    list_display = ("pk", "workspace", "variant", "target_format", "width", "height", "status", "created_at")
    list_select_related = ("workspace", "variant__draft", "target_format")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
