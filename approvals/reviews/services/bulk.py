"""Bulk decisions on a production run's images: many clicks saved, no rule skipped.

Each selected image is decided on its own through ``decision_attempt`` (its own transaction, its own
audit event, its own refusal record), so separation of duties, self-approval, version binding (the
sha256 the reviewer saw) and "one decision per stage" are checked exactly as on the review page. On top
of those, the bulk path keeps the queue's rule: only images the safety check allowed outright may be
approved in bulk, and a safety override is never decided in bulk. Every image gets a result line; a
refused one says why, none is silently skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from approvals.reviews.errors import REFUSED, InvalidDecision
from approvals.reviews.models import DecisionOutcome, ReviewStage, ReviewStatus, StageStatus
from approvals.reviews.services._common import NOTE_REQUIRED, STATUS_WORDS
from approvals.reviews.services.decisions import decision_attempt
from studio.core.errors import refusal_message
from studio.generation.models import Variant
from studio.runs.models import ProductionRun, RunCell
from studio.safety.models import SafetyVerdict

# Outcomes a run can be decided with in bulk; anything subtler (approve with changes, request changes)
# needs the image's own page and a note written for it.
BULK_OUTCOMES = (DecisionOutcome.APPROVE, DecisionOutcome.REJECT)
MAX_BULK_ITEMS = 200


@dataclass(frozen=True)
class BulkItem:
    """One selected image and the exact content (sha256) the reviewer saw."""

    variant_id: int
    sha256: str


@dataclass(frozen=True)
class BulkItemResult:
    variant_id: int
    label: str
    ok: bool
    message: str


@dataclass
class BulkOutcome:
    outcome: str
    results: list[BulkItemResult] = field(default_factory=list)

    @property
    def done(self) -> list[BulkItemResult]:
        return [r for r in self.results if r.ok]

    @property
    def refused(self) -> list[BulkItemResult]:
        return [r for r in self.results if not r.ok]

    @property
    def summary(self) -> str:
        verb = "Approved" if self.outcome == DecisionOutcome.APPROVE else "Rejected"
        text = f"{verb} {len(self.done)} of {len(self.results)} selected."
        if self.refused:
            text += f" {len(self.refused)} refused: see why below."
        return text


def _checked_input(outcome: str, note: str, items: Sequence[BulkItem]) -> str:
    if outcome not in BULK_OUTCOMES:
        raise InvalidDecision("Approve or reject in bulk; other decisions are made on each image's page.")
    note = (note or "").strip()
    if outcome in NOTE_REQUIRED and not note:
        raise InvalidDecision("Give a reason for rejecting these images; every rejected image gets it.")
    if not items:
        raise InvalidDecision("Select at least one image.")
    if len(items) > MAX_BULK_ITEMS:
        raise InvalidDecision(f"Select at most {MAX_BULK_ITEMS} images at a time.")
    return note


def _pending_stages(variant_ids: list[int]) -> dict[int, ReviewStage]:
    """The pending stage of each image's open review (at most one stage is pending at a time)."""
    stages = (
        ReviewStage.objects.filter(
            review__variant_id__in=variant_ids, review__status=ReviewStatus.OPEN, status=StageStatus.PENDING
        )
        .select_related("review")
        .order_by("order", "pk")
    )
    found: dict[int, ReviewStage] = {}
    for stage in stages:
        found.setdefault(stage.review.variant_id, stage)
    return found


def _pre_check(*, outcome: str, variant: Variant, stage: ReviewStage | None) -> str:
    """Why the bulk path will not even try this image ("" when it goes to the decision service)."""
    if stage is None:
        return STATUS_WORDS.get(variant.status, "") or "This image is not waiting for a review decision."
    if stage.review.is_override:
        return "A safety override is decided on its own page, never in bulk."
    if outcome == DecisionOutcome.APPROVE and stage.review.safety_verdict != SafetyVerdict.ALLOW:
        return f'Needs a closer look (safety verdict is "{stage.review.safety_verdict}"): open it to decide.'
    return ""


def run_bulk_decide(
    *, actor, run: ProductionRun, items: Sequence[BulkItem], outcome: str, note: str = ""
) -> BulkOutcome:
    """Decide each selected image of ``run`` with ``outcome`` through the per-image decision service.

    Input mistakes (no selection, a reject without a reason, too many) raise ``InvalidDecision`` before
    anything is decided; everything else is a per-image result."""
    note = _checked_input(outcome, note, items)
    ids = list(dict.fromkeys(item.variant_id for item in items))
    cells = {
        cell.job_id: cell
        for cell in RunCell.objects.filter(run=run, job__isnull=False)
        .select_related("target_format")
        .only("job_id", "locale", "target_format__name")
    }
    variants = {
        v.pk: v
        for v in Variant.objects.filter(pk__in=ids, job_id__in=list(cells)).only("pk", "job_id", "status", "sha256")
    }
    stages = _pending_stages(list(variants))
    result = BulkOutcome(outcome=outcome)
    seen: set[int] = set()
    for item in items:
        if item.variant_id in seen:
            continue
        seen.add(item.variant_id)
        variant = variants.get(item.variant_id)
        if variant is None:
            result.results.append(
                BulkItemResult(item.variant_id, f"Image #{item.variant_id}", False, "Not part of this run.")
            )
            continue
        cell = cells[variant.job_id]
        label = f"{cell.target_format.name} · {cell.locale or 'no locale'} (image #{variant.pk})"
        stage = stages.get(variant.pk)
        reason = _pre_check(outcome=outcome, variant=variant, stage=stage)
        if reason:
            result.results.append(BulkItemResult(variant.pk, label, False, reason))
            continue
        try:
            decision_attempt(actor=actor, stage=stage, outcome=outcome, note=note, expected_sha256=item.sha256)
        except REFUSED as exc:
            result.results.append(BulkItemResult(variant.pk, label, False, refusal_message(exc)))
        else:
            words = "Approved" if outcome == DecisionOutcome.APPROVE else "Rejected"
            result.results.append(
                BulkItemResult(variant.pk, label, True, f"{words} ({stage.get_kind_display().lower()}).")
            )
    return result
