"""Running a job (called from the Celery task; safe to run twice).

``job_execute`` runs in four steps along its seams: **claim** (screen the prompt, then lock the job and
mark it running, unless another delivery finished it), **call** (the image service, outside any
transaction), **store** (files first, outside the lock; then the variants, under it) and **record**
(settle the cost, mark the job done, audit, tell the layers above, enqueue the image screenings). The
provider factory is an argument, so tests hand in a fake provider instead of patching an import site.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from studio.core.audit import audit_batch
from studio.generation import events, screening
from studio.generation.errors import JobRetry
from studio.generation.limiter import deployment_slot, deployment_slow_down
from studio.generation.locks import job_lock
from studio.generation.models import GenerationJob, JobStatus, Variant, VariantStatus
from studio.generation.pricing import PriceNotFound, price_for
from studio.generation.retrying import transient_db_retry
from studio.generation.services import breaker
from studio.generation.services.budget import budget_settle_recorded
from studio.generation.services.claiming import CLAIM_REFRESH_AFTER_WAIT_S, claim_refresh, job_claim
from studio.generation.services.failures import (
    job_provider_failed,
    job_screen_prompt,
    job_wait_for_breaker,
    timeout_notes,
)
from studio.generation.services.storage import image_store, thumbnail_make
from studio.generation.services.sweeper import screen_publish
from studio.generation.signals import variant_superseded
from studio.lib.pricing import cost_of_usage
from studio.lib.providers import (
    EditRequest,
    ErrorKind,
    GeneratedImage,
    GenerationRequest,
    ImageProvider,
    ProviderError,
    ProviderResult,
    get_provider,
)
from studio.lib.providers.retry import backoff_seconds
from studio.lib.sizing import check_returned_size, plan_size
from studio.safety.models import SafetyAssessment, SafetyStage
from studio.safety.services import screens_image_pixels
from studio.safety.tasks import backoff_seconds as safety_backoff

ProviderFactory = Callable[[Any], ImageProvider]
logger = logging.getLogger(__name__)

_JOB_RELATED = ("deployment__profile", "workspace", "draft_version__draft", "created_by")
# What recording a success reads through the job (its workspace, its variants' draft and creator): read
# with the job before the call and handed to the row locked for the record, since a job's workspace,
# version, creator and deployment never change. The lock itself is then one narrow statement.
_RECORD_RELATED = ("workspace", "draft_version", "created_by", "deployment")
# Whether the prompt was screened already (a production run screens its cells' prompts while preparing).
_PROMPT_SCREENED = Exists(SafetyAssessment.objects.filter(job_id=OuterRef("pk"), stage=SafetyStage.PROMPT))


@dataclass(frozen=True)
class StoredImage:
    """One returned image after its files are written: what the variant row will point at."""

    index: int
    image: GeneratedImage
    sha256: str
    path: str
    thumbnail: str
    mismatch: str | None = None  # the size check against the plan, made before the record transaction


def job_execute(
    *,
    job_id: int,
    provider_factory: ProviderFactory = get_provider,
    on_record: Callable[[GenerationJob], Any] | None = None,
) -> GenerationJob:
    """Run one job to completion. Idempotent: a redelivered or repeated run of a finished job does
    nothing, and variants plus cost are written once, in one transaction, under the job's row lock.

    ``on_record(job)``: what a layer above records with a success, in the same transaction, after the job's
    own rows and events (a production run's cell: its row is locked after the job's, as the lock order
    says). Not called when the job ends otherwise; the caller records those outcomes itself."""
    job = GenerationJob.objects.select_related(*_JOB_RELATED).annotate(prompt_screened=_PROMPT_SCREENED).get(pk=job_id)
    if job.is_terminal:
        _settle_if_recorded(job)  # a redelivery after its worker recorded it and stopped before the settle
        return job
    outcome = job_screen_prompt(job)
    if outcome != "ok":
        if outcome == "pending":
            raise JobRetry(countdown=backoff_seconds(max(job.attempts, 1), None), reason="safety check pending")
        return GenerationJob.objects.get(pk=job_id)

    paused = breaker.breaker_admit(job.deployment, just_read=True)  # read with the job, just now
    if paused is not None:  # the deployment keeps failing: wait (within the retry budget), make no call
        return transient_db_retry(lambda: job_wait_for_breaker(job_id=job_id, paused_until=paused))
    job, claimed = transient_db_retry(lambda: job_claim(job, related=_JOB_RELATED))
    if not claimed:
        return job
    try:
        result, latency_ms, price = _job_call(job, provider_factory)
    except ProviderError as exc:
        error = exc
        if breaker.is_transient_failure(error):
            breaker.breaker_record_failure(job.deployment)
        elif error.status_code is not None:
            breaker.breaker_record_success(job.deployment)  # it answered (a refusal): the service works
        return transient_db_retry(lambda: job_provider_failed(job_id=job_id, error=error))
    breaker.breaker_record_success(job.deployment)
    stored = _images_store(job, result)
    actual = cost_of_usage(result.usage, price)
    # The provider has billed this call: a lost deadlock re-runs the record transaction here, with the
    # result still in memory, rather than calling the provider again on a task retry.
    job = transient_db_retry(
        lambda: _job_record(
            job_id=job_id,
            result=result,
            stored=stored,
            actual=actual,
            latency_ms=latency_ms,
            read=job,
            on_record=on_record,
        )
    )
    _settle_if_recorded(job)  # recorded: now count it on the campaign (the sweeper does, if this stops here)
    return job


def _settle_if_recorded(job: GenerationJob) -> None:
    """Step two of a success (``budget_settle_recorded``), for a job whose record left it pending."""
    if job.settle_pending:
        transient_db_retry(lambda: budget_settle_recorded(job))


# --- claim ----------------------------------------------------------------------------------------------


# --- call -----------------------------------------------------------------------------------------------


def _provider_request(job: GenerationJob) -> tuple[str, GenerationRequest | EditRequest]:
    params = job.params
    common = {
        "prompt": job.prompt,
        "size": params["size"],
        "n": job.n,
        "quality": params.get("quality", "auto"),
        "output_format": params.get("output_format", "png"),
        "background": params.get("background", ""),
        "seed": int(str(job.idempotency_key.int)[:9]),
        "extra_body": params.get("extra_body", {}),
        "idempotency_key": str(job.idempotency_key),
    }
    if job.base_variant_id is None:
        return "generate", GenerationRequest(
            **common, safety_identifier=hashlib.sha256(f"imprimatur:{job.created_by_id}".encode()).hexdigest()[:32]
        )
    images = [job.base_variant.image.open("rb").read()]
    images += [ref.image.open("rb").read() for ref in job.reference_variants.order_by("pk")]
    images += [default_storage.open(path, "rb").read() for path in job.reference_uploads]
    mask = job.mask.open("rb").read() if job.mask else None
    return "edit", EditRequest(**common, images=images, mask=mask)


def _job_call(job: GenerationJob, provider_factory: ProviderFactory) -> tuple[ProviderResult, int, Any]:
    """The price table first (no price, no call), then one call to the image service. Raises
    ``ProviderError`` for every failure, so the caller has one place that decides retry or give up."""
    try:
        price = price_for(model_name=job.deployment.profile.name, provider=job.deployment.provider)
    except PriceNotFound as exc:
        raise ProviderError(
            f"No price table applies to {job.deployment.profile.name}: ask an admin to add one before generating.",
            kind=ErrorKind.FATAL,
            code="no_price",
        ) from exc
    kind, provider_request = _provider_request(job)
    provider = provider_factory(job.deployment)
    # One of the deployment's slots (concurrency and per-minute allowance, shared by every worker) for the
    # duration of the call; a 429 with retry-after slows every worker down, not just this job.
    waiting_since = time.monotonic()
    with deployment_slot(job.deployment):
        started = time.monotonic()
        if started - waiting_since > CLAIM_REFRESH_AFTER_WAIT_S:
            claim_refresh(job)
        try:
            result = provider.generate(provider_request) if kind == "generate" else provider.edit(provider_request)
        except ProviderError as exc:
            if exc.status_code == 429 and exc.retry_after:
                deployment_slow_down(job.deployment, exc.retry_after)
            raise
    return result, int((time.monotonic() - started) * 1000), price


# --- store ----------------------------------------------------------------------------------------------


def _images_store(job: GenerationJob, result: ProviderResult) -> list[StoredImage]:
    """Hash, thumbnail, store and check each image's size against the plan before taking any lock: the
    record transaction holds the campaign row (every cell of a run settles on it), so nothing slow runs
    inside it."""
    stored = []
    for index, image in enumerate(result.images):
        sha = hashlib.sha256(image.data).hexdigest()
        path = image_store(job.workspace.slug, "variants", sha, image.format, image.data)
        thumb = image_store(job.workspace.slug, "thumbs", sha, "webp", thumbnail_make(image.data, image.pixels))
        mismatch = _size_mismatch(job, image)
        stored.append(StoredImage(index=index, image=image, sha256=sha, path=path, thumbnail=thumb, mismatch=mismatch))
    return stored


def _size_mismatch(job: GenerationJob, image: GeneratedImage) -> str | None:
    """The size check against the plan the job was launched with. The job stores that plan's size, so the
    usual case is one comparison; only a different size re-plans, for the message (planning walks the
    profile's candidate sizes, about a thousand checks)."""
    if (image.width, image.height) == (job.planned_width, job.planned_height):
        return None
    plan = plan_size(target_width=job.target_width, target_height=job.target_height, profile=job.deployment.profile)
    return check_returned_size(plan, image.width, image.height)


def _variants_create(job: GenerationJob, stored: list[StoredImage]) -> list[Variant]:
    """One variant per stored image (born "safety check pending"), with its parents and its evidence."""
    parent_ids = (
        [job.base_variant_id, *job.reference_variants.values_list("pk", flat=True)] if job.base_variant_id else []
    )
    variants = []
    for item in stored:
        image = item.image
        mismatch = item.mismatch
        variant = Variant(
            workspace=job.workspace,
            job=job,
            draft=job.draft_version.draft,
            index=item.index,
            operation=job.operation,
            locale=job.locale,
            created_by=job.created_by,
            width=image.width,
            height=image.height,
            sha256=item.sha256,
            format=image.format,
            size_mismatch=mismatch is not None,
            filter_results=image.filter_results,
            status=VariantStatus.SAFETY_PENDING,
        )
        variant.image.name = item.path
        variant.thumbnail.name = item.thumbnail
        variant.save()
        if parent_ids:
            variant.parents.add(*parent_ids)
        events.variant_created(variant=variant, job=job, mismatch=mismatch)
        if image.filter_results:
            screening.provider_filters_record(
                workspace=job.workspace,
                job=job,
                variant=variant,
                stage="provider_output",
                filter_results=image.filter_results,
            )
        variants.append(variant)
    return variants


# --- record ---------------------------------------------------------------------------------------------


@transaction.atomic
def _job_record(
    *,
    job_id: int,
    result: ProviderResult,
    stored: list[StoredImage],
    actual: Decimal,
    latency_ms: int,
    read: GenerationJob,
    on_record: Callable[[GenerationJob], Any] | None = None,
) -> GenerationJob:
    # Lock order (studio.generation.locks): the job, then variants; audit chain head last. The campaign is
    # not locked here: the cost is counted on it right after this commits (``budget_settle_recorded``).
    job = job_lock(job_id, related=())
    for name in _RECORD_RELATED:  # the unchanging related rows, as read before the call (see above)
        setattr(job, name, getattr(read, name))
    if job.is_terminal:  # another delivery finished first: keep its variants and cost
        return job
    # The image, the job and what follows them (a review closed by a newer version) are recorded under one
    # lock of the audit chain head, taken last, when the block ends.
    with audit_batch(job.workspace):
        job.settle_pending = True  # the campaign's numbers follow in their own short transaction
        variants = _variants_create(job, stored)
        if result.prompt_filter_results:
            screening.provider_filters_record(
                workspace=job.workspace, job=job, stage="provider_prompt", filter_results=result.prompt_filter_results
            )
        job.status = JobStatus.SUCCEEDED
        job.progress = 100
        job.usage = result.usage.as_dict()
        job.actual_cost = actual
        job.provider_request_id = result.request_id[:200]
        job.latency_ms = result.latency_ms or latency_ms
        job.finished_at = timezone.now()
        mismatches = [v for v in variants if v.size_mismatch]
        notes = []
        if mismatches:
            notes.append(
                f"The service returned {mismatches[0].size} instead of the planned "
                f"{job.planned_size}; the image is kept and its rendition is planned from its "
                "real size."
            )
        if billed := timeout_notes(job):  # an earlier attempt timed out: it may be on the provider's bill
            notes.append(billed[0].upper() + billed[1:])
        job.error_message = " ".join(notes)
        job.save(
            update_fields=[
                "status",
                "progress",
                "usage",
                "actual_cost",
                "provider_request_id",
                "latency_ms",
                "finished_at",
                "settle_pending",
                "error_message",
            ]
        )
        events.job_succeeded(job=job, variants=variants, actual=actual)
        if on_record is not None:
            on_record(job)
        if job.base_variant_id:
            # A newer version of the base now exists: whatever reviews it (the approvals app) closes.
            variant_superseded.send(sender=Variant, variant=job.base_variant, actor=job.created_by)
        if screens_image_pixels(job.workspace):
            _screens_enqueue([v.pk for v in variants], workspace=job.workspace)
        else:  # local rules only: nothing to wait for, so no task of its own
            for variant in variants:
                screening.variant_screen_with_image(variant=variant)
        return job


def _screens_enqueue(variant_ids: list[int], *, workspace) -> None:
    """In the record transaction, through the outbox: the checks commit with the variants, so a broker
    outage only delays them (the sweeper re-sends the rows) and never fails a job whose images and cost
    are already recorded."""
    for pk in variant_ids:
        screen_publish(pk, workspace=workspace)


# --- in this process (the CLI) -------------------------------------------------------------------------


def job_run_inline(
    *, job_id: int, sleep: Callable[[float], None] = time.sleep, provider_factory: ProviderFactory = get_provider
) -> GenerationJob:
    """Run a job in this process with the same retries the worker applies (used by the CLI)."""
    while True:
        try:
            return job_execute(job_id=job_id, provider_factory=provider_factory)
        except JobRetry as retry:
            sleep(retry.countdown)


def variant_screen_inline(
    *, variant_id: int, sleep: Callable[[float], None] = time.sleep, attempts: int = 6
) -> Variant:
    """Screen a variant in this process with bounded retries (CLI); leaves it pending if never answered."""
    for attempt in range(attempts):
        result = screening.variant_rescreen(variant_id=variant_id)
        if result is None or not result.pending:
            break
        sleep(min(safety_backoff(attempt), 30))
    return Variant.objects.get(pk=variant_id)
