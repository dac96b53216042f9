"""Tamper-evident audit history.

Every state change appends one ``AuditEvent`` in the same transaction as the change. Events form a
hash chain per workspace: each stores the previous event's hash and the SHA-256 of its own canonical
content. Appends lock the workspace's ``AuditChain`` row, so concurrent writers serialise and the chain
never forks. ``audit_verify`` walks the chain and names the first event that does not fit.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from studio.models import Workspace

from .models import AuditChain, AuditEvent

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class RequestMeta:
    ip: str | None = None
    user_agent: str = ""


_request_meta: contextvars.ContextVar[RequestMeta] = contextvars.ContextVar("audit_request_meta", default=RequestMeta())


class AuditRequestMiddleware:
    """Captures IP and user agent so services can record them without taking the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _request_meta.set(
            RequestMeta(ip=request.META.get("REMOTE_ADDR") or None,
                        user_agent=request.META.get("HTTP_USER_AGENT", "")[:400])
        )
        try:
            return self.get_response(request)
        finally:
            _request_meta.reset(token)


def _normalise(data: dict[str, Any]) -> dict[str, Any]:
    """Round-trip through JSON so what is stored is exactly what was hashed (Decimals, dates, UUIDs)."""
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def canonical_content(event: AuditEvent) -> str:
    return json.dumps(
        {
            "workspace": event.workspace_id,
            "seq": event.seq,
            "action": event.action,
            "actor": event.actor_id,
            "actor_label": event.actor_label,
            "subject_type": event.subject_type,
            "subject_id": str(event.subject_id),
            "data": event.data,
            "ip": event.ip,
            "user_agent": event.user_agent,
            "created_at": event.created_at.isoformat(timespec="microseconds"),
            "prev_hash": event.prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def event_hash(event: AuditEvent) -> str:
    return hashlib.sha256(canonical_content(event).encode()).hexdigest()


def actor_label_for(actor: Any) -> str:
    if actor is None:
        return "system"
    full = actor.get_full_name() if hasattr(actor, "get_full_name") else ""
    return f"{full} ({actor.get_username()})" if full else actor.get_username()


def audit_append(
    *,
    workspace: Workspace,
    actor: Any,
    action: str,
    subject: models.Model | None = None,
    subject_type: str = "",
    subject_id: str | int = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the workspace's chain. Must run inside the caller's transaction."""
    with transaction.atomic():
        AuditChain.objects.get_or_create(workspace=workspace)
        chain = AuditChain.objects.select_for_update().get(workspace=workspace)
        meta = _request_meta.get()
        event = AuditEvent(
            workspace=workspace,
            seq=chain.last_seq + 1,
            action=action,
            actor=actor,
            actor_label=actor_label_for(actor),
            subject_type=subject_type or (subject._meta.label_lower if subject is not None else ""),
            subject_id=str(subject_id or (subject.pk if subject is not None else "")),
            data=_normalise(data or {}),
            ip=meta.ip,
            user_agent=meta.user_agent,
            created_at=timezone.now(),
            prev_hash=chain.last_hash,
        )
        event.hash = event_hash(event)
        event.save(force_insert=True)
        chain.last_seq = event.seq
        chain.last_hash = event.hash
        chain.save(update_fields=["last_seq", "last_hash"])
    return event


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    verified: int
    message: str
    broken_seq: int | None = None
    workspace_slug: str = ""


def _verify_workspace(workspace: Workspace) -> VerifyResult:
    expected_seq = 1
    prev = GENESIS_HASH
    count = 0
    events: Iterator[AuditEvent] = (
        AuditEvent.objects.filter(workspace=workspace).order_by("seq", "pk").iterator(chunk_size=5000)
    )
    for event in events:
        if event.seq != expected_seq:
            kind = "event missing" if event.seq > expected_seq else "order changed (duplicate sequence)"
            return VerifyResult(False, count, f"{workspace.slug}: event #{expected_seq}: {kind} (found #{event.seq})",
                                expected_seq, workspace.slug)
        if event.prev_hash != prev:
            return VerifyResult(False, count, f"{workspace.slug}: event #{event.seq}: order changed or an event "
                                f"was inserted (previous-hash link broken)", event.seq, workspace.slug)
        if event_hash(event) != event.hash:
            return VerifyResult(False, count, f"{workspace.slug}: event #{event.seq} ({event.action}): content changed",
                                event.seq, workspace.slug)
        prev = event.hash
        expected_seq += 1
        count += 1
    chain = AuditChain.objects.filter(workspace=workspace).first()
    if chain and (chain.last_seq != count or (count and chain.last_hash != prev)):
        return VerifyResult(False, count, f"{workspace.slug}: event #{count + 1}..#{chain.last_seq}: event missing "
                            f"at the end of the chain", count + 1, workspace.slug)
    return VerifyResult(True, count, f"{workspace.slug}: verified {count} events", None, workspace.slug)


def audit_verify(*, workspace: Workspace | None = None) -> VerifyResult:
    """Walk the chain(s). Streams rows, so memory stays flat however long the chain is."""
    workspaces = [workspace] if workspace else list(Workspace.objects.order_by("pk"))
    total = 0
    for ws in workspaces:
        result = _verify_workspace(ws)
        if not result.ok:
            return result
        total += result.verified
    return VerifyResult(True, total, f"verified {total} events")
