"""Audit events of the sweeper's repairs (made by nobody in particular) and of focal points."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from studio.core.audit import audit_record
from studio.core.events import event_type
from studio.core.models import AuditEvent
from studio.generation.events.subjects import JOB, VARIANT

# --- repairs by the sweeper (``jobs_sweep``): one event per repair, made by nobody in particular ---------

JOB_REQUEUED = event_type(
    "studio.job.requeued",
    label="Generation re-queued",
    message="{actor} re-queued {subject}: {reason}",
    subject_kind=JOB,
)
VARIANT_RESCREEN_REQUEUED = event_type(
    "studio.variant.rescreen_requeued",
    label="Image check re-queued",
    message="{actor} re-queued the safety check of {subject}: {reason}",
    subject_kind=VARIANT,
)
JOB_RESERVATION_RELEASED = event_type(
    "studio.job.reservation_released",
    label="Reservation released",
    message="{actor} released the {amount} still reserved by the finished {subject}",
    subject_kind=JOB,
)
JOB_COST_SETTLED = event_type(
    "studio.job.cost_settled",
    label="Cost counted on the budget",
    message=(
        "{actor} counted the {actual} of the finished {subject} on its campaign's budget "
        "and released its {amount} reservation"
    ),
    subject_kind=JOB,
)


def job_requeued(*, job: Any, reason: str, status: str) -> AuditEvent:
    """``status``: what the job was when the sweeper found it ("queued" with no worker, or "running"
    past its lease)."""
    data = {"reason": reason, "status": str(status), "attempts": job.attempts}
    return audit_record(JOB_REQUEUED, workspace=job.workspace, actor=None, subject=job, data=data)


def variant_rescreen_requeued(*, variant: Any, reason: str) -> AuditEvent:
    data = {"reason": reason, "job": variant.job_id}
    return audit_record(VARIANT_RESCREEN_REQUEUED, workspace=variant.workspace, actor=None, subject=variant, data=data)


def job_reservation_released(*, job: Any, amount: Decimal) -> AuditEvent:
    data = {"amount": amount, "status": str(job.status)}
    return audit_record(JOB_RESERVATION_RELEASED, workspace=job.workspace, actor=None, subject=job, data=data)


def job_cost_settled(*, job: Any, amount: Decimal, actual: Decimal) -> AuditEvent:
    """The worker that recorded the job stopped before counting its cost on the campaign: the sweeper did."""
    data = {"amount": amount, "actual": actual, "status": str(job.status)}
    return audit_record(JOB_COST_SETTLED, workspace=job.workspace, actor=None, subject=job, data=data)


# --- focal point (where renditions crop around) ---------------------------------------------------------

VARIANT_FOCAL_POINT_SET = event_type(
    "studio.variant.focal_point_set",
    label="Focal point set",
    message="{actor} set the focal point of {subject} to {position}",
    subject_kind=VARIANT,
)


def variant_focal_point_set(*, variant: Any, actor: Any, before: list, after: list) -> AuditEvent:
    """``before`` / ``after``: [x, y] as fractions (None = the centre on that axis)."""

    def words(point: list) -> str:
        if point[0] is None and point[1] is None:
            return "the centre"
        x, y = (0.5 if v is None else v for v in point)
        return f"{round(x * 100)}% across, {round(y * 100)}% down"

    return audit_record(
        VARIANT_FOCAL_POINT_SET,
        workspace=variant.workspace,
        actor=actor,
        subject=variant,
        data={"before": before, "after": after, "position": words(after)},
    )
