"""Admin: reviews are read-mostly here; state changes go through the services so they
are audited. Stage policies (who reviews, which rule) are configured here."""

from django.contrib import admin

from approvals.reviews.models import Comment, Decision, Review, ReviewStage, StagePolicy
from studio.core.models import Notification


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class StageInline(admin.TabularInline):
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
    list_display = ("pk", "stage", "reviewer", "outcome", "created_at")
    list_filter = ("outcome",)
    list_select_related = ("stage", "reviewer")


@admin.register(Comment)
class CommentAdmin(ReadOnlyAdmin):
    list_display = ("pk", "variant", "author", "resolved", "created_at")
    list_select_related = ("variant__draft", "author")


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("pk", "user", "workspace", "kind", "text", "read_at", "created_at")
    list_filter = ("kind",)
    list_select_related = ("user", "workspace")


@admin.register(StagePolicy)
class StagePolicyAdmin(admin.ModelAdmin):
    list_display = ("workspace", "kind", "rule")
    list_filter = ("kind", "rule")
    filter_horizontal = ("assignees",)
