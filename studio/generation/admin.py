from django.contrib import admin, messages
from django.db import models as django_models

from studio.core import models as core_models
from studio.generation import models
from studio.generation.services import SAFETY_SETTING_FIELDS, workspace_settings_changed
from studio.lib.providers.connection import deployment_test_connection


class MembershipInline(admin.TabularInline):
    model = core_models.Membership
    extra = 0


class CampaignFormatInline(admin.TabularInline):
    model = models.CampaignFormat
    extra = 0


@admin.register(core_models.Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "sector", "regulated", "safety_fail_open")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]

    def save_model(self, request, obj, form, change):
        before = {}
        if change:
            before = core_models.Workspace.objects.filter(pk=obj.pk).values(*SAFETY_SETTING_FIELDS).first() or {}
        super().save_model(request, obj, form, change)
        if change:
            workspace_settings_changed(actor=request.user, workspace=obj, before=before)


@admin.register(models.Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "workspace", "budget", "spent_cost", "reserved_cost")
    list_filter = ("workspace",)
    readonly_fields = ("spent_cost", "reserved_cost")
    inlines = [CampaignFormatInline]


@admin.register(models.CapabilityProfile)
class CapabilityProfileAdmin(admin.ModelAdmin):
    list_display = ("name", "size_mode", "max_n", "supports_mask", "supports_markup", "deprecated")


@admin.register(models.PriceTable)
class PriceTableAdmin(admin.ModelAdmin):
    list_display = ("model_name", "provider", "effective_from", "image_output", "image_input", "text_input")


@admin.register(models.Deployment)
class DeploymentAdmin(admin.ModelAdmin):
    list_display = ("name", "workspace", "provider", "model", "profile", "is_default", "active")
    list_filter = ("provider", "workspace")
    actions = ["test_connection"]
    # Endpoints are HTTPS; this is also Django 6's default, so the form behaves the same after the upgrade.
    formfield_overrides = {django_models.URLField: {"assume_scheme": "https"}}

    @admin.action(description="Test connection (one small real call)")
    def test_connection(self, request, queryset):
        for deployment in queryset:
            report = deployment_test_connection(deployment=deployment)
            level = messages.SUCCESS if report.ok else messages.ERROR
            self.message_user(
                request,
                f"{deployment.name}: {report.message} (latency {report.latency_ms} ms; asked for "
                f"{report.requested_size}, got {report.returned_size or 'nothing'})",
                level,
            )


@admin.register(models.PromptTemplate)
class PromptTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "workspace")


class DraftVersionInline(admin.TabularInline):
    model = models.DraftVersion
    extra = 0
    readonly_fields = ("number", "text", "variables", "locale_copy", "created_by", "created_at")
    can_delete = False


@admin.register(models.PromptDraft)
class PromptDraftAdmin(admin.ModelAdmin):
    list_display = ("title", "campaign", "created_by", "updated_at")
    inlines = [DraftVersionInline]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Jobs and variants change only through services (which write the audit trail)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.GenerationJob)
class GenerationJobAdmin(ReadOnlyAdmin):
    list_display = (
        "pk",
        "workspace",
        "operation",
        "status",
        "planned_width",
        "planned_height",
        "estimated_cost",
        "actual_cost",
        "created_at",
    )
    list_filter = ("status", "operation", "workspace")


@admin.register(models.Variant)
class VariantAdmin(ReadOnlyAdmin):
    list_display = ("pk", "workspace", "status", "safety_verdict", "width", "height", "created_at")
    list_filter = ("status", "safety_verdict", "workspace")
