"""Reads for the compliance log: whose logs a person may read, the filtered events, and the people the
log's person picker offers. (One asset's decision trail is ``approvals.compliance.trails``.)

Reading is ``studio.core.permissions.can_read_audit``: compliance auditors and workspace admins. Every
selector costs a fixed number of queries, however long the log is.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from approvals.compliance.exports import AuditFilter, filter_events
from approvals.compliance.subjects import subject_info
from studio.core.models import AuditEvent, Workspace
from studio.core.permissions import AUDIT_READERS, RoleRequired, workspaces_with_roles

NO_ACCESS_MESSAGE = "Only a compliance auditor or a workspace admin can see the audit log."


def auditor_workspaces(*, user) -> list[Workspace]:
    """Workspaces whose audit log ``user`` may read (compliance auditor or admin there)."""
    return list(workspaces_with_roles(user, AUDIT_READERS))


def auditor_workspaces_required(*, user) -> list[Workspace]:
    """Like ``auditor_workspaces`` but refuses people who may read no log at all."""
    workspaces = auditor_workspaces(user=user)
    if not workspaces:
        raise RoleRequired(NO_ACCESS_MESSAGE)
    return workspaces


def scoped_filter(*, workspaces: Sequence[Workspace], filters: AuditFilter) -> AuditFilter:
    """``filters`` limited to ``workspaces``, whatever workspace ids they asked for."""
    allowed = {ws.pk for ws in workspaces}
    wanted = tuple(pk for pk in (filters.workspace_ids or allowed) if pk in allowed)
    return AuditFilter(
        workspace_ids=wanted,
        since=filters.since,
        until=filters.until,
        action=filters.action,
        actor=filters.actor,
        actor_username=filters.actor_username,
        subject_type=filters.subject_type,
        subject_id=filters.subject_id,
    )


def audit_log(*, workspaces: Sequence[Workspace], filters: AuditFilter) -> QuerySet[AuditEvent]:
    """Events of ``workspaces`` matching ``filters``, newest first, with the workspace joined in and
    each subject's label values annotated (``subjects.subject_info``): rendering a page of it as
    sentences costs no further query."""
    return (
        filter_events(AuditEvent.objects.all(), scoped_filter(workspaces=workspaces, filters=filters))
        .select_related("workspace")
        .only(
            "workspace__name",
            "workspace__slug",
            "seq",
            "action",
            "actor_label",
            "subject_type",
            "subject_id",
            "data",
            "created_at",
            "ip",
            "hash",
        )
        .annotate(subject_info=subject_info())
        .order_by("-created_at", "-pk")
    )


def log_people(*, workspaces: Sequence[Workspace]) -> list:
    """Everyone who belongs to one of ``workspaces``: the choices of the log's person picker (one
    query). Members, not "everyone seen in the log": that would be a DISTINCT over the whole log on
    every page view. Former members' events stay listed; ``audit_export --actor`` finds them by name."""
    return list(
        get_user_model()
        .objects.filter(memberships__workspace__in=[ws.pk for ws in workspaces])
        .distinct()
        .order_by("first_name", "last_name", "username")
    )
