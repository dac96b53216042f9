"""Publishing a production run in one action: every approved image of every cell, at its cell's format.

``run_publication_plan`` (a read) says, per cell, what will be published, what is already published,
what the rules refuse (a format the image was not composed for, an image changed since approval) and
which cells have no approved image at all: those are listed with the reason, never skipped silently.
``run_publish`` (the request) records a task in the outbox and answers at once; the task
(``run_publish_execute``) checks each target through the per-image ``publication_request`` (which records
a refusal) and records the same render a single publish uses in the outbox (``starting.render_enqueue``),
in the transaction of the one audit event that records the request as a whole. Progress is read back
from the publications themselves.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.db import transaction
from django.urls import reverse

from approvals.publishing import events, selectors
from approvals.publishing.models import Publication
from approvals.publishing.rendition_plans import rendition_plan_for
from approvals.publishing.services import publication_request
from approvals.publishing.starting import render_enqueue
from approvals.reviews.errors import REFUSED
from studio.core.errors import refusal_message
from studio.core.models import Notification
from studio.core.outbox import outbox_enqueue
from studio.core.permissions import RoleRequired, can_publish
from studio.generation.models import Variant, VariantStatus
from studio.lib.imaging import RenditionPlan
from studio.runs.models import ProductionRun, RunCell

PUBLISHABLE = (VariantStatus.APPROVED, VariantStatus.PUBLISHED)
_SENTINEL_VARIANT, _SENTINEL_FORMAT = 987654321987654, 876543219876543
# Publication states by value: a retracted publication is history (the format may be published again),
# a failed one is a live row whose write must be retried from its own page.
RETRACTED, FAILED, PUBLISHED = "retracted", "failed", "published"


@dataclass
class RunPublishTarget:
    """One approved image of a cell and its cell's format."""

    cell: RunCell
    variant: Variant
    plan: RenditionPlan
    publication: Publication | None = None
    refusal: str = ""

    @property
    def target_format(self):
        return self.cell.target_format

    @property
    def ready(self) -> bool:
        return self.publication is None and not self.refusal

    @property
    def failed(self) -> bool:
        """A publication row exists but its write failed (retried from the publication's page)."""
        return self.publication is not None and self.publication.status == FAILED

    @property
    def live(self) -> bool:
        """Published and live (not failed, not a retry still under way)."""
        return self.publication is not None and self.publication.status == PUBLISHED

    def as_dict(self) -> dict:
        return {"variant": self.variant.pk, "format": self.cell.target_format.name, "locale": self.cell.locale}


@dataclass
class RunPublishMissing:
    """A cell with nothing to publish, and why."""

    cell: RunCell
    reason: str

    def as_dict(self) -> dict:
        return {"format": self.cell.target_format.name, "locale": self.cell.locale, "reason": self.reason}


@dataclass
class RunPublicationPlan:
    targets: list[RunPublishTarget] = field(default_factory=list)
    missing: list[RunPublishMissing] = field(default_factory=list)

    @property
    def ready(self) -> list[RunPublishTarget]:
        return [t for t in self.targets if t.ready]

    @property
    def published(self) -> list[RunPublishTarget]:
        return [t for t in self.targets if t.live]

    @property
    def failed(self) -> list[RunPublishTarget]:
        return [t for t in self.targets if t.failed]

    @property
    def refused(self) -> list[RunPublishTarget]:
        return [t for t in self.targets if t.publication is None and t.refusal]


def _why_nothing(cell: RunCell, images: list[Variant]) -> str:
    if not images:
        words = f"No image: the cell is {cell.get_status_display().lower()}"
        return words + (f" ({cell.error})." if cell.error else ".")
    counts = Counter(v.get_status_display().lower() for v in images)
    states = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    return f"No approved image for this format ({states})."


# What planning reads of an image (never its JSON, nor the job behind it: at 1,000 cells those were most
# of the page's time). The services re-read what they check under their own locks.
_IMAGE_FIELDS = (
    "pk",
    "job_id",
    "workspace_id",
    "draft_id",
    "draft__campaign_id",
    "index",
    "status",
    "sha256",
    "width",
    "height",
    "focal_x",
    "focal_y",
    "locale",
    "created_by_id",
)


def run_publication_plan(*, run: ProductionRun) -> RunPublicationPlan:
    """What publishing ``run`` would do, cell by cell. Three queries whatever the run's size."""
    cells = list(
        RunCell.objects.filter(run=run)
        .select_related("target_format")
        .order_by("target_format__name", "target_format_id", "locale", "pk")
    )
    images_by_job: dict[int, list[Variant]] = {}
    job_ids = [cell.job_id for cell in cells if cell.job_id]
    if job_ids:
        for variant in (
            Variant.objects.filter(job_id__in=job_ids)
            .select_related("draft")
            .only(*_IMAGE_FIELDS)
            .order_by("job_id", "index", "pk")
        ):
            images_by_job.setdefault(variant.job_id, []).append(variant)
    approved: list[tuple[RunCell, Variant]] = []
    plan = RunPublicationPlan()
    for cell in cells:
        cell_images = images_by_job.get(cell.job_id, [])
        mine = [v for v in cell_images if v.status in PUBLISHABLE]
        if not mine:
            plan.missing.append(RunPublishMissing(cell=cell, reason=_why_nothing(cell, cell_images)))
        for variant in mine:
            variant.workspace = run.workspace  # same row: the services and URLs read it
            approved.append((cell, variant))
    existing = {
        (p.variant_id, p.target_format_id): p
        for p in Publication.objects.filter(
            variant_id__in=[v.pk for _c, v in approved], target_format_id__in={c.target_format_id for c, _v in approved}
        ).exclude(status=RETRACTED)
    }
    for cell, variant in approved:
        rendition = rendition_plan_for(variant=variant, target_format=cell.target_format)
        plan.targets.append(
            RunPublishTarget(
                cell=cell,
                variant=variant,
                plan=rendition,
                publication=existing.get((variant.pk, cell.target_format_id)),
                refusal=rendition.refusal,
            )
        )
    return plan


@dataclass
class RunPublishStarted:
    queued: list[RunPublishTarget]
    refused: list[RunPublishTarget]
    already: list[RunPublishTarget]
    missing: list[RunPublishMissing]


RUN_PUBLISH_TASK = "publishing.run_publish"  # ``approvals.publishing.tasks.run_publish_checks``


def run_publish(*, actor, run: ProductionRun) -> RunPublishStarted:
    """The "Publish this run" request: who may publish is checked here, and the per-image checks and render requests
    are handed to a task (``run_publish_execute``, recorded in the outbox in this transaction), so the
    request answers at once however many cells the run has; the page's progress polls what the task and
    the renders do. Returns what the plan says now: the images to check and queue, those the rules already
    refuse, those already published, and the cells with no approved image."""
    if not can_publish(actor, run.workspace):
        raise RoleRequired(f"Only a marketer, brand reviewer or admin can publish images in {run.workspace.name}.")
    plan = run_publication_plan(run=run)
    if plan.ready or plan.refused or plan.missing:
        with transaction.atomic():
            outbox_enqueue(RUN_PUBLISH_TASK, [run.pk, actor.pk], workspace=run.workspace)
    return RunPublishStarted(queued=plan.ready, refused=plan.refused, already=plan.published, missing=plan.missing)


def run_publish_execute(*, run: ProductionRun, actor) -> RunPublishStarted:
    """The task's body: check every ready target of ``run`` through the per-image ``publication_request``
    (which records a refusal) and record its render in the outbox, in the transaction of the one audit
    event that records the request with what was queued, refused and missing. A second delivery finds the
    published targets no longer ready."""
    if not can_publish(actor, run.workspace):
        raise RoleRequired(f"Only a marketer, brand reviewer or admin can publish images in {run.workspace.name}.")
    plan = run_publication_plan(run=run)
    queued: list[RunPublishTarget] = []
    refused = list(plan.refused)
    for target in plan.ready:
        try:
            publication_request(actor=actor, variant=target.variant, target_format=target.target_format)
        except REFUSED as exc:
            target.refusal = refusal_message(exc)
            refused.append(target)
        else:
            queued.append(target)
    with transaction.atomic():
        events.run_publish_requested(
            run=run,
            actor=actor,
            queued=[t.as_dict() for t in queued],
            refused=[{**t.as_dict(), "reason": t.refusal} for t in refused],
            missing=[m.as_dict() for m in plan.missing],
        )
        for target in queued:  # through the outbox: a broker that is down delays the renders, never loses them
            render_enqueue(
                variant=target.variant, target_format=target.target_format, actor=actor, workspace=run.workspace
            )
    return RunPublishStarted(queued=queued, refused=refused, already=plan.published, missing=plan.missing)


@dataclass
class RunPublishProgress:
    total: int
    published: int
    failed: int
    refused: int
    missing: int

    @property
    def waiting(self) -> int:
        return max(0, self.total - self.published - self.failed)

    @property
    def percent(self) -> int:
        return round(100 * (self.published + self.failed) / self.total) if self.total else 100

    @property
    def bar_class(self) -> str:
        """The progress bar's width class (``pw-0`` .. ``pw-100`` in steps of 5; no inline styles)."""
        return f"pw-{round(self.percent / 5) * 5}"


def run_publish_progress(*, run: ProductionRun, user, plan: RunPublicationPlan | None = None) -> RunPublishProgress:
    """How far publishing has come: published and failed (the worker's notices to ``user``) out of the
    targets the rules allow."""
    plan = plan or run_publication_plan(run=run)
    allowed = [t for t in plan.targets if not t.refusal]
    # The progress URL each waiting render's failure notice points at (``tasks.progress_url``), built
    # from one reverse(): a 1,000-cell run's page polls this every 2 s.
    pattern = reverse(
        "publishing:publication_progress",
        kwargs={"slug": run.workspace.slug, "variant_id": _SENTINEL_VARIANT, "format_id": _SENTINEL_FORMAT},
    )
    waiting_urls = [
        pattern.replace(str(_SENTINEL_VARIANT), str(t.variant.pk)).replace(
            str(_SENTINEL_FORMAT), str(t.target_format.pk)
        )
        for t in allowed
        if t.publication is None
    ]
    failed = (
        Notification.objects.filter(user=user, kind=selectors.FAILED_KIND, url__in=waiting_urls, read_at__isnull=True)
        .values("url")
        .distinct()
        .count()
        if waiting_urls
        else 0
    )
    return RunPublishProgress(
        total=len(allowed),
        published=sum(1 for t in allowed if t.live),
        failed=failed + sum(1 for t in allowed if t.failed),
        refused=len(plan.refused),
        missing=len(plan.missing),
    )
