"""Admin for the studio's models. Operators (superusers) see everything; a workspace admin (staff, not a
superuser) sees and changes only the workspaces they administer (``admin_scoping``). Every change that
matters to the chain (memberships, campaigns and budgets, deployments, safety settings) is recorded
through a service."""

from django.contrib import admin, messages
from django.db import models as django_models

from studio.core import models as core_models
from studio.generation import models
from studio.generation.admin_scoping import (
    GlobalTableAdmin,
    ReadOnlyScopedAdmin,
    ScopedInline,
    WorkspaceScopedAdmin,
    form_changes,
    is_operator,
)
from studio.generation.services import (
    SAFETY_SETTING_FIELDS,
    campaign_change_record,
    membership_change_record,
    workspace_settings_changed,
)
from studio.generation.services.admin_changes import price_table_change_record, safety_rule_change_record
from studio.generation.services.deployments import deployment_admin_saved, deployment_snapshot
from studio.lib.providers.connection import deployment_test_connection, redact_secrets
from studio.safety.models import SafetyRule


def _record_inline_memberships(request, formset) -> None:
    """After the Workspace page saved its membership rows: one event per added, changed or deleted row."""
    added = {obj.pk for obj in formset.new_objects}
    changed = {obj.pk for obj, _fields in formset.changed_objects}
    for form in formset.forms:
        obj = form.instance
        if obj.pk is None or obj.pk not in added | changed:
            continue
        action = "added" if obj.pk in added else "changed"
        membership_change_record(
            actor=request.user, membership=obj, action=action, changes=form_changes(form), via="admin"
        )


class MembershipInline(ScopedInline, admin.TabularInline):
    model = core_models.Membership
    extra = 0


class CampaignFormatInline(ScopedInline, admin.TabularInline):
    model = models.CampaignFormat
    extra = 0


@admin.register(core_models.Workspace)
class WorkspaceAdmin(WorkspaceScopedAdmin):
    workspace_path = ""
    list_display = ("name", "slug", "sector", "regulated", "safety_fail_open")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]

    def has_add_permission(self, request) -> bool:
        return is_operator(request.user)  # a new workspace is an operator's decision

    def has_delete_permission(self, request, obj=None) -> bool:
        return is_operator(request.user)

    def save_model(self, request, obj, form, change):
        before = {}
        if change:
            before = core_models.Workspace.objects.filter(pk=obj.pk).values(*SAFETY_SETTING_FIELDS).first() or {}
        super().save_model(request, obj, form, change)
        if change:
            workspace_settings_changed(actor=request.user, workspace=obj, before=before)

    def save_formset(self, request, form, formset, change):
        is_memberships = formset.model is core_models.Membership
        if is_memberships:  # recorded before the rows go, while they still have their ids
            for doomed in [f.instance for f in formset.deleted_forms if f.instance.pk]:
                membership_change_record(
                    actor=request.user, membership=doomed, action="deleted", changes={}, via="admin"
                )
        super().save_formset(request, form, formset, change)
        if is_memberships:
            _record_inline_memberships(request, formset)


@admin.register(core_models.Membership)
class MembershipAdmin(WorkspaceScopedAdmin):
    list_display = ("user", "workspace", "role", "created_at")
    list_filter = ("role", "workspace")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        membership_change_record(
            actor=request.user,
            membership=obj,
            action="changed" if change else "added",
            changes=form_changes(form),
            via="admin",
        )

    def delete_model(self, request, obj):
        membership_change_record(actor=request.user, membership=obj, action="deleted", changes={}, via="admin")
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(models.Campaign)
class CampaignAdmin(WorkspaceScopedAdmin):
    list_display = ("name", "workspace", "budget", "spent_cost", "reserved_cost")
    list_filter = ("workspace",)
    # The budget alert's time is the alert task's (approvals.costs.services.alerts re-arms it itself); as a
    # read-only value it is also no unlabelled date/time pair of inputs (axe: "label", critical).
    readonly_fields = ("spent_cost", "reserved_cost", "budget_alert_sent_at")
    inlines = [CampaignFormatInline]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        changes = form_changes(form)
        if changes or not change:
            campaign_change_record(
                actor=request.user,
                campaign=obj,
                action="changed" if change else "added",
                changes=changes,
                via="admin",
            )

    def delete_model(self, request, obj):
        campaign_change_record(actor=request.user, campaign=obj, action="deleted", changes={}, via="admin")
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(models.CapabilityProfile)
class CapabilityProfileAdmin(GlobalTableAdmin):
    list_display = ("name", "size_mode", "max_n", "supports_mask", "supports_markup", "deprecated")


class AuditedGlobalTableAdmin(GlobalTableAdmin):
    """A global table whose every add, change and delete is recorded by ``record`` (a service)."""

    record = None  # a staticmethod(service) taking actor, the object, action, changes and via

    def _record(self, request, obj, action: str, changes: dict) -> None:
        type(self).record(actor=request.user, obj=obj, action=action, changes=changes, via="admin")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        changes = form_changes(form)
        if changes or not change:
            self._record(request, obj, "changed" if change else "added", changes)

    def delete_model(self, request, obj):
        self._record(request, obj, "deleted", {})
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


def _price_table_record(*, obj, **kwargs) -> None:
    price_table_change_record(price_table=obj, **kwargs)


def _safety_rule_record(*, obj, **kwargs) -> None:
    safety_rule_change_record(rule=obj, **kwargs)


@admin.register(models.PriceTable)
class PriceTableAdmin(AuditedGlobalTableAdmin):
    list_display = ("model_name", "provider", "effective_from", "image_output", "image_input", "text_input")
    record = staticmethod(_price_table_record)


@admin.register(SafetyRule)
class SafetyRuleAdmin(AuditedGlobalTableAdmin):
    """The sector rule packs: operators edit them, every change reaches the chains they apply to."""

    list_display = ("sector", "category", "pattern", "verdict", "active")
    list_filter = ("sector", "verdict", "active")
    record = staticmethod(_safety_rule_record)


@admin.register(models.Deployment)
class DeploymentAdmin(WorkspaceScopedAdmin):
    list_display = ("name", "workspace", "provider", "model", "profile", "is_default", "active")
    list_filter = ("provider", "workspace")
    actions = ["test_connection"]
    # Endpoints are HTTPS; this is also Django 6's default, so the form behaves the same after the upgrade.
    formfield_overrides = {django_models.URLField: {"assume_scheme": "https"}}

    def save_model(self, request, obj, form, change):
        before = None
        if change:
            stored = models.Deployment.objects.filter(pk=obj.pk).first()
            before = deployment_snapshot(stored) if stored else None
        super().save_model(request, obj, form, change)
        deployment_admin_saved(actor=request.user, deployment=obj, before=before)

    @admin.action(description="Test connection (one small real call)")
    def test_connection(self, request, queryset):
        for deployment in queryset:
            report = deployment_test_connection(deployment=deployment)
            level = messages.SUCCESS if report.ok else messages.ERROR
            text = (
                f"{deployment.name}: {report.message} (latency {report.latency_ms} ms; asked for "
                f"{report.requested_size}, got {report.returned_size or 'nothing'})"
            )
            # The service may have echoed the Authorization header back in its error: never show the key.
            self.message_user(request, redact_secrets(text, deployment=deployment), level)


@admin.register(models.PromptTemplate)
class PromptTemplateAdmin(WorkspaceScopedAdmin):
    list_display = ("name", "workspace")


class DraftVersionInline(ScopedInline, admin.TabularInline):
    model = models.DraftVersion
    extra = 0
    readonly_fields = ("number", "text", "variables", "locale_copy", "created_by", "created_at")
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # versions are added through the studio (audited)


@admin.register(models.PromptDraft)
class PromptDraftAdmin(WorkspaceScopedAdmin):
    list_display = ("title", "campaign", "created_by", "updated_at")
    inlines = [DraftVersionInline]


@admin.register(models.GenerationJob)
class GenerationJobAdmin(ReadOnlyScopedAdmin):
    """Jobs and variants change only through services (which write the audit trail)."""

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
class VariantAdmin(ReadOnlyScopedAdmin):
    list_display = ("pk", "workspace", "status", "safety_verdict", "width", "height", "created_at")
    list_filter = ("status", "safety_verdict", "workspace")
