"""Admin: reviews are read-mostly here; state changes go through the services so they
are audited. Stage policies (who reviews, which rule) are configured here."""

from django.contrib import admin

from approvals.reviews.models import Comment, Decision, Review, ReviewStage, StagePolicy
from approvals.reviews.services import stage_policy_change_record
from studio.core.models import Notification
from studio.generation.admin_scoping import ReadOnlyScopedAdmin, ScopedInline, WorkspaceScopedAdmin, form_changes

ReadOnlyAdmin = ReadOnlyScopedAdmin  # view only, limited to the workspaces a workspace admin administers


class StageInline(ScopedInline, admin.TabularInline):
    model = ReviewStage
    extra = 0
    can_delete = False
    fields = ("kind", "order", "status", "rule", "due_at", "reminded_at", "escalated_at", "decided_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = (
        "pk",
        "workspace",
        "variant",
        "status",
        "safety_verdict",
        "is_override",
        "submitted_by",
        "submitted_at",
    )
    list_filter = ("status", "safety_verdict", "is_override", "workspace")
    list_select_related = ("workspace", "variant__draft", "submitted_by")
    inlines = [StageInline]


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    workspace_path = "stage__review__workspace"
    list_display = ("pk", "stage", "reviewer", "outcome", "created_at")
    list_filter = ("outcome",)
    list_select_related = ("stage", "reviewer")


@admin.register(Comment)
class CommentAdmin(ReadOnlyAdmin):
    workspace_path = "variant__workspace"
    list_display = ("pk", "variant", "author", "resolved", "created_at")
    list_select_related = ("variant__draft", "author")


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("pk", "user", "workspace", "kind", "text", "read_at", "created_at")
    list_filter = ("kind",)
    list_select_related = ("user", "workspace")


@admin.register(StagePolicy)
class StagePolicyAdmin(WorkspaceScopedAdmin):
    list_display = ("workspace", "kind", "rule")
    list_filter = ("kind", "rule")
    filter_horizontal = ("assignees",)

    def save_related(self, request, form, formsets, change):
        # After the assignees (many-to-many) are saved, so the event shows who may approve now.
        super().save_related(request, form, formsets, change)
        stage_policy_change_record(
            actor=request.user,
            policy=form.instance,
            action="changed" if change else "added",
            changes=form_changes(form),
            via="admin",
        )

    def delete_model(self, request, obj):
        stage_policy_change_record(actor=request.user, policy=obj, action="deleted", changes={}, via="admin")
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)
