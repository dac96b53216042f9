"""Keep a workspace admin inside their workspaces in the Django admin.

Operators (superusers, made with ``createsuperuser``) see and change everything. A workspace admin is
staff but not a superuser: their admin rights come from their workspace-admin memberships, not from
global model permissions, so every list, form choice and object page is limited to the workspaces they
administer (another workspace's objects answer 404, exactly like the app's own views). Global tables
(capability profiles, price tables) are read-only for them.
"""

from __future__ import annotations

from functools import reduce

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import models

from studio.core.models import Membership, Role, Workspace


def is_operator(user) -> bool:
    return bool(user.is_active and user.is_superuser)


def admin_workspace_ids(user) -> frozenset[int]:
    """Workspaces ``user`` administers (cached on the user object for the request)."""
    if not (user.is_active and user.is_staff):
        return frozenset()
    cached = user.__dict__.get("_imprimatur_admin_workspaces")
    if cached is None:
        cached = frozenset(Membership.objects.filter(user=user, role=Role.ADMIN).values_list("workspace_id", flat=True))
        user.__dict__["_imprimatur_admin_workspaces"] = cached
    return cached


def _workspace_of(obj, path: str):
    """Follow ``path`` (``"workspace"``, ``"campaign__workspace"``, ``""`` for a Workspace) from ``obj``."""
    if not path:
        return obj.pk
    *hops, last = path.split("__")
    target = reduce(lambda o, hop: getattr(o, hop, None) if o is not None else None, hops, obj)
    return getattr(target, f"{last}_id", None) if target is not None else None


def _members(ids: frozenset[int]) -> models.QuerySet:
    return get_user_model().objects.filter(memberships__workspace_id__in=ids).distinct()


class _Scoping:
    """Shared by model admins and inlines: form choices limited to the user's workspaces."""

    def limit_choices(self, db_field, request, kwargs: dict) -> dict:
        if is_operator(request.user) or "queryset" in kwargs:
            return kwargs
        ids = admin_workspace_ids(request.user)
        model = db_field.remote_field.model
        if model is Workspace:
            kwargs["queryset"] = Workspace.objects.filter(pk__in=ids)
        elif model is get_user_model():
            kwargs["queryset"] = _members(ids)
        elif any(f.name == "workspace" for f in model._meta.get_fields()):
            kwargs["queryset"] = model._default_manager.filter(workspace_id__in=ids)
        elif any(f.name == "campaign" for f in model._meta.get_fields()):
            kwargs["queryset"] = model._default_manager.filter(campaign__workspace_id__in=ids)
        return kwargs

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        return super().formfield_for_foreignkey(db_field, request, **self.limit_choices(db_field, request, kwargs))

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        return super().formfield_for_manytomany(db_field, request, **self.limit_choices(db_field, request, kwargs))


class WorkspaceScopedAdmin(_Scoping, admin.ModelAdmin):
    """A model admin whose rows belong to a workspace reached by ``workspace_path``."""

    workspace_path = "workspace"
    #: workspace admins may add/change/delete (else: view only)
    workspace_admin_can_edit = True

    def get_list_filter(self, request):
        # The plain related filter lists every workspace's name; offer only those in the user's rows.
        filters = super().get_list_filter(request)
        if is_operator(request.user):
            return filters
        return [
            (f, admin.RelatedOnlyFieldListFilter) if isinstance(f, str) and f.endswith("workspace") else f
            for f in filters
        ]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if is_operator(request.user):
            return qs
        ids = admin_workspace_ids(request.user)
        return qs.filter(**{f"{self.workspace_path or 'pk'}__in": ids})

    def _in_scope(self, request, obj) -> bool:
        ids = admin_workspace_ids(request.user)
        if not ids:
            return False
        if obj is None:
            return True
        if obj.pk is None:
            return _workspace_of(obj, self.workspace_path) in ids
        return self.get_queryset(request).filter(pk=obj.pk).exists()

    def has_module_permission(self, request) -> bool:
        return is_operator(request.user) or bool(admin_workspace_ids(request.user))

    def has_view_permission(self, request, obj=None) -> bool:
        if is_operator(request.user):
            return super().has_view_permission(request, obj)
        return self._in_scope(request, obj)

    def has_add_permission(self, request) -> bool:
        if is_operator(request.user):
            return super().has_add_permission(request)
        return self.workspace_admin_can_edit and bool(admin_workspace_ids(request.user))

    def has_change_permission(self, request, obj=None) -> bool:
        if is_operator(request.user):
            return super().has_change_permission(request, obj)
        return self.workspace_admin_can_edit and self._in_scope(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        if is_operator(request.user):
            return super().has_delete_permission(request, obj)
        return self.workspace_admin_can_edit and self._in_scope(request, obj)

    def save_model(self, request, obj, form, change):
        if not is_operator(request.user) and _workspace_of(obj, self.workspace_path) not in admin_workspace_ids(
            request.user
        ):
            raise PermissionDenied("You administer other workspaces only.")
        super().save_model(request, obj, form, change)


class ReadOnlyScopedAdmin(WorkspaceScopedAdmin):
    """Rows that change only through services (which write the audit trail): view only, for everyone."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class GlobalTableAdmin(admin.ModelAdmin):
    """Tables shared by every workspace (profiles, prices): operators edit, workspace admins only read."""

    def has_module_permission(self, request) -> bool:
        return is_operator(request.user) or bool(admin_workspace_ids(request.user))

    def has_view_permission(self, request, obj=None) -> bool:
        return is_operator(request.user) or bool(admin_workspace_ids(request.user))

    def has_add_permission(self, request) -> bool:
        return is_operator(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return is_operator(request.user)

    def has_delete_permission(self, request, obj=None) -> bool:
        return is_operator(request.user)


class ScopedInline(_Scoping):
    """Inline mixin: permission follows the parent object's workspace (the parent admin already scoped it)."""

    def _allowed(self, request, obj) -> bool:
        return bool(admin_workspace_ids(request.user))

    def has_view_permission(self, request, obj=None) -> bool:
        if is_operator(request.user):
            return super().has_view_permission(request, obj)
        return self._allowed(request, obj)

    def has_add_permission(self, request, obj=None) -> bool:
        if is_operator(request.user):
            return super().has_add_permission(request, obj)
        return self._allowed(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        if is_operator(request.user):
            return super().has_change_permission(request, obj)
        return self._allowed(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        if is_operator(request.user):
            return super().has_delete_permission(request, obj)
        return self._allowed(request, obj)


def _plain(value):
    """A form value as JSON-safe text for an audit event (objects by pk, querysets as sorted pks)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, models.QuerySet | list | tuple | set):
        return sorted(_plain(v) for v in value)
    return str(value)


def form_changes(form) -> dict:
    """What the admin form changed: field -> {"before", "after"} (plain values)."""
    return {
        field: {"before": _plain(form.initial.get(field)), "after": _plain(form.cleaned_data.get(field))}
        for field in form.changed_data
    }
