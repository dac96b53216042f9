"""Tamper-evident audit history: the chain (``chain``), its verification (``verify``) and the request
metadata every event records (``middleware``).

The audit chain knows no domain app: an event names its subject by kind and id, and its action is a
machine name from the registry in ``studio.core.events``. Everything public is re-exported here, so
``from studio.core.audit import audit_record`` is the one import other apps need.
"""

from studio.core.audit.batch import AuditBatch, audit_batch
from studio.core.audit.chain import (
    GENESIS_HASH,
    SYSTEM_LABEL,
    actor_label_for,
    actor_name,
    audit_append,
    audit_record,
    canonical_content,
    event_hash,
    subject_kind,
)
from studio.core.audit.middleware import (
    AuditRequestMiddleware,
    RequestMeta,
    _normalise_ip,  # noqa: F401 - the integration tests set the request metadata by hand
    _request_meta,  # noqa: F401
    current_request_meta,
)
from studio.core.audit.verify import (
    PROBLEM_CHANGED,
    PROBLEM_HEAD,
    PROBLEM_INSERTED,
    PROBLEM_MISSING,
    PROBLEM_ORDER,
    PROBLEM_TRUNCATED,
    VERIFY_CHUNK_SIZE,
    VerifyResult,
    audit_verify,
)
from studio.core.events import UnknownEventType

__all__ = [
    "AuditBatch",
    "audit_batch",
    "GENESIS_HASH",
    "PROBLEM_CHANGED",
    "PROBLEM_HEAD",
    "PROBLEM_INSERTED",
    "PROBLEM_MISSING",
    "PROBLEM_ORDER",
    "PROBLEM_TRUNCATED",
    "SYSTEM_LABEL",
    "VERIFY_CHUNK_SIZE",
    "AuditRequestMiddleware",
    "RequestMeta",
    "UnknownEventType",
    "VerifyResult",
    "actor_label_for",
    "actor_name",
    "audit_append",
    "audit_record",
    "audit_verify",
    "canonical_content",
    "current_request_meta",
    "event_hash",
    "subject_kind",
]
