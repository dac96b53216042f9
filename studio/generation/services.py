"""Studio write services: drafts, job launch (with budget reservation), the job pipeline and edits.

Each service is keyword-only, takes ``actor`` when a person causes the change, runs in one transaction,
locks what it changes and writes its audit event in that same transaction. Network and Pillow work
happen in ``job_execute`` (called from the Celery task), never inside a web request.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import time
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from PIL import Image

from studio.core.audit import audit_append
from studio.core.models import Role
from studio.core.permissions import require_role
from studio.generation.models import (
    Campaign,
    CampaignFormat,
    Deployment,
    DraftVersion,
    GenerationJob,
    JobStatus,
    Operation,
    PromptDraft,
    Variant,
    VariantStatus,
)

logger = logging.getLogger(__name__)

COST_QUANTUM = Decimal("0.000001")
THUMBNAIL_EDGE = 384
TEMPLATE_VARIABLE = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)\}")


class StudioError(Exception):
    """A refusal with a message a marketer can act on."""

    def __init__(self, message: str, *, field_errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}


class BudgetExceeded(StudioError):
    pass


class JobRetry(Exception):  # noqa: N818 - a control-flow signal, not an error for users
    """Raised by ``job_execute`` when the call should be tried again after ``countdown`` seconds."""

    def __init__(self, countdown: float, reason: str) -> None:
        super().__init__(reason)
        self.countdown = countdown
        self.reason = reason


def _money(value: Decimal) -> str:
    return f"${value.quantize(Decimal('0.01')) if value >= 1 else value.quantize(Decimal('0.0001'))}"


# --- Drafts -------------------------------------------------------------------------------------------


@transaction.atomic
def draft_create(
    *,
    actor,
    campaign: Campaign,
    title: str,
    text: str,
    variables: dict | None = None,
    locale_copy: dict | None = None,
    template=None,
) -> PromptDraft:
    require_role(actor, campaign.workspace, Role.MARKETER, action="write drafts")
    if template is not None and template.workspace_id != campaign.workspace_id:
        raise StudioError("That template belongs to another workspace.")
    draft = PromptDraft(workspace=campaign.workspace, campaign=campaign, title=title.strip(), created_by=actor)
    draft.full_clean()
    draft.save()
    version = DraftVersion(
        draft=draft,
        number=1,
        text=text.strip(),
        variables=variables or {},
        locale_copy=locale_copy or {},
        template=template,
        created_by=actor,
    )
    version.full_clean()
    version.save()
    audit_append(
        workspace=campaign.workspace,
        actor=actor,
        action="studio.draft.created",
        subject=draft,
        data={
            "title": draft.title,
            "campaign": campaign.slug,
            "version": 1,
            "text": version.text,
            "locale_copy": version.locale_copy,
        },
    )
    return draft


@transaction.atomic
def draft_version_add(
    *,
    actor,
    draft: PromptDraft,
    text: str,
    variables: dict | None = None,
    locale_copy: dict | None = None,
) -> DraftVersion:
    """Versions are immutable; saving an edited draft adds one (unchanged text adds nothing)."""
    require_role(actor, draft.workspace, Role.MARKETER, action="edit drafts")
    draft = PromptDraft.objects.select_for_update(of=("self",)).get(pk=draft.pk)
    latest = draft.versions.order_by("-number").first()
    text = text.strip()
    variables = variables or {}
    locale_copy = locale_copy or {}
    if latest and (latest.text, latest.variables, latest.locale_copy) == (text, variables, locale_copy):
        return latest
    version = DraftVersion(
        draft=draft,
        number=(latest.number + 1) if latest else 1,
        text=text,
        variables=variables,
        locale_copy=locale_copy,
        created_by=actor,
    )
    version.full_clean()
    version.save()
    draft.save(update_fields=["updated_at"])
    audit_append(
        workspace=draft.workspace,
        actor=actor,
        action="studio.draft.version_added",
        subject=draft,
        data={"version": version.number, "text": text, "locale_copy": locale_copy, "variables": variables},
    )
    return version


def prompt_compose(*, version: DraftVersion, locale: str = "", instruction: str = "") -> str:
    """The full prompt as sent. The workspace style guide comes first and unchanged so providers can
    serve it from the prompt cache; then the draft text with its variables filled in; then the in-image
    copy for the locale, in a fixed phrasing the offline renderer and reviewers recognise."""
    workspace = version.draft.workspace
    variables = version.variables or {}
    body = TEMPLATE_VARIABLE.sub(lambda m: str(variables.get(m.group(1), m.group(0))), version.text)
    parts = []
    if workspace.style_guide.strip():
        parts.append(f"Brand style: {workspace.style_guide.strip()}")
    parts.append(body)
    copy = (version.locale_copy or {}).get(locale) if locale else None
    if copy is None and not locale and version.locale_copy:
        # No locale chosen: use the first default locale's copy if the draft has it.
        for candidate in workspace.default_locales or []:
            if candidate in version.locale_copy:
                locale, copy = candidate, version.locale_copy[candidate]
                break
    if copy:
        parts.append(f'In-image text ({locale}): "{copy}"')
    if instruction:
        parts.append(f"Edit: {instruction.strip()}")
    return "\n\n".join(parts)


def missing_variables(version: DraftVersion) -> list[str]:
    names = TEMPLATE_VARIABLE.findall(version.text)
    return [n for n in dict.fromkeys(names) if n not in (version.variables or {})]


# --- Launch ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LaunchRequest:
    deployment: Deployment
    target_width: int
    target_height: int
    n: int = 1
    quality: str = "auto"
    output_format: str = "png"
    background: str = ""
    route: str = "explicit"
    locale: str = ""
    target_format: CampaignFormat | None = None


def _reserve_budget(*, campaign: Campaign, amount: Decimal) -> Campaign:
    """Reserve ``amount`` under a row lock so concurrent launches can never overspend."""
    locked = Campaign.objects.select_for_update(of=("self",)).get(pk=campaign.pk)
    remaining = locked.budget - locked.reserved_cost - locked.spent_cost
    if amount > remaining:
        raise BudgetExceeded(
            f"This would cost about {_money(amount)}, but {locked.name} has only {_money(max(remaining, Decimal(0)))} "
            f"left of its {_money(locked.budget)} budget ({_money(locked.spent_cost)} spent, "
            f"{_money(locked.reserved_cost)} reserved by jobs in progress). Lower the number of variants or the "
            f"quality, or ask an admin to raise the budget."
        )
    locked.reserved_cost += amount
    locked.save(update_fields=["reserved_cost"])
    return locked


def _validate_launch(
    *, workspace, request: LaunchRequest, operation: str, has_mask: bool = False, input_images: int = 1
):
    from studio.lib.capabilities import check_request
    from studio.lib.providers.routing import available_routes
    from studio.lib.sizing import SizeError, plan_size

    deployment = request.deployment
    if deployment.workspace_id != workspace.pk or not deployment.active:
        raise StudioError(
            "That deployment is not available in this workspace.",
            field_errors={"deployment": "Choose one of this workspace's deployments."},
        )
    errors = check_request(
        deployment.profile,
        operation=operation,
        size=f"{request.target_width}x{request.target_height}",
        quality=request.quality,
        output_format=request.output_format,
        background=request.background,
        n=request.n,
        has_mask=has_mask,
        input_images=input_images,
    )
    errors.pop("size", None)  # the planner turns any sane target into a size the model accepts
    if request.route not in {key for key, _label in available_routes(deployment, regulated=workspace.is_regulated)}:
        errors["route"] = "That routing option is not available for this deployment or workspace."
    try:
        plan = plan_size(
            target_width=request.target_width, target_height=request.target_height, profile=deployment.profile
        )
    except SizeError as exc:
        errors["size"] = str(exc)
        plan = None
    if errors:
        raise StudioError("Please fix the highlighted settings.", field_errors=errors)
    return plan


def _estimate(**kwargs):
    from studio.generation.pricing import PriceNotFound, estimate_job_cost

    try:
        return estimate_job_cost(**kwargs)
    except PriceNotFound as exc:
        model = kwargs["deployment"].profile.name
        raise StudioError(
            f"No price table applies to {model}, so the cost cannot be estimated. Ask an admin to add one.",
            field_errors={"deployment": "No price table for this model."},
        ) from exc


def _request_params(request: LaunchRequest, plan, extra: dict) -> dict:
    params = {
        "model": request.deployment.model,
        "size": f"{plan.width}x{plan.height}",
        "n": request.n,
        "quality": request.quality,
        "output_format": request.output_format,
    }
    if request.background:
        params["background"] = request.background
    if extra:
        params["extra_body"] = extra
    return params


@dataclass(frozen=True)
class LaunchPreview:
    plan: object  # studio.sizing.SizePlan
    estimate: object  # studio.pricing.Estimate
    remaining: Decimal


def launch_preview(*, version: DraftVersion, request: LaunchRequest) -> LaunchPreview:
    """What a launch would do, without doing it: the same checks, size plan and estimate as
    ``job_launch`` (so the form's live preview can never disagree with the launch). Reads only."""
    workspace = version.draft.workspace
    plan = _validate_launch(workspace=workspace, request=request, operation=Operation.GENERATE)
    estimate = _estimate(
        deployment=request.deployment,
        quality=request.quality,
        width=plan.width,
        height=plan.height,
        n=request.n,
        prompt=prompt_compose(version=version, locale=request.locale),
    )
    return LaunchPreview(plan=plan, estimate=estimate, remaining=version.draft.campaign.remaining)


@transaction.atomic
def job_launch(
    *,
    actor,
    version: DraftVersion,
    request: LaunchRequest,
    operation: str = Operation.GENERATE,
    base_variant: Variant | None = None,
    instruction: str = "",
    references: list[Variant] | None = None,
    mask_png: bytes | None = None,
    rerun_of: GenerationJob | None = None,
    reference_uploads: list[bytes] | None = None,
    enqueue: bool = True,
) -> GenerationJob:
    """Create a job, reserve its estimated cost and enqueue it. Safety screening of the prompt runs in
    the task before anything is sent (and before any money is spent). ``enqueue=False`` is for callers
    that run the job in their own process (the CLI's --wait), so a worker never runs it a second time."""
    from studio.generation.tasks import job_run
    from studio.lib.providers.routing import route_overrides

    draft = version.draft
    workspace = draft.workspace
    require_role(actor, workspace, Role.MARKETER, action="generate images")
    references = references or []
    reference_uploads = reference_uploads or []
    if missing := missing_variables(version):
        raise StudioError(
            "Fill in every template variable first: " + ", ".join(missing) + ".",
            field_errors={"text": "Missing values for " + ", ".join(missing)},
        )
    plan = _validate_launch(
        workspace=workspace,
        request=request,
        operation=operation,
        has_mask=mask_png is not None,
        input_images=1 + len(references) + len(reference_uploads),
    )
    prompt = prompt_compose(version=version, locale=request.locale, instruction=instruction)
    if len(prompt) > 32000:
        raise StudioError(
            "The prompt is too long (over 32,000 characters including the brand style).",
            field_errors={"text": "Shorten the draft."},
        )
    estimate = _estimate(
        deployment=request.deployment,
        quality=request.quality,
        width=plan.width,
        height=plan.height,
        n=request.n,
        prompt=prompt,
        input_images=(1 + len(references) + len(reference_uploads)) if base_variant else 0,
    )
    _reserve_budget(campaign=draft.campaign, amount=estimate.amount)
    job = GenerationJob(
        workspace=workspace,
        campaign=draft.campaign,
        draft_version=version,
        deployment=request.deployment,
        target_format=request.target_format,
        operation=operation,
        created_by=actor,
        prompt=prompt,
        instruction=instruction,
        locale=request.locale,
        n=request.n,
        params=_request_params(request, plan, route_overrides(request.deployment, request.route)),
        target_width=request.target_width,
        target_height=request.target_height,
        planned_width=plan.width,
        planned_height=plan.height,
        plan_notes=list(plan.notes),
        route=request.route,
        base_variant=base_variant,
        rerun_of=rerun_of,
        estimated_cost=estimate.amount,
        estimate_basis=estimate.basis,
        reserved_cost=estimate.amount,
        status=JobStatus.QUEUED,
    )
    for data in reference_uploads:
        sha = hashlib.sha256(data).hexdigest()
        job.reference_uploads.append(_store_image(workspace.slug, "references", sha, "png", data))
    if mask_png is not None:
        job.mask.save(f"mask-{hashlib.sha256(mask_png).hexdigest()[:16]}.png", ContentFile(mask_png), save=False)
    job.full_clean(exclude=["reference_variants"])
    job.save()
    if references:
        job.reference_variants.set(references)
    audit_append(
        workspace=workspace,
        actor=actor,
        action="studio.job.created",
        subject=job,
        data={
            "operation": operation,
            "prompt": prompt,
            "instruction": instruction,
            "params": job.params,
            "target": job.target_size,
            "planned": job.planned_size,
            "plan_notes": job.plan_notes,
            "route": job.route,
            "estimated_cost": estimate.amount,
            "estimate_basis": estimate.basis,
            "deployment": request.deployment.name,
            "base_variant": base_variant.pk if base_variant else None,
            "references": [r.pk for r in references],
            "draft_version": version.number,
        },
    )
    if enqueue:
        job_id = job.pk
        transaction.on_commit(lambda: job_run.delay(job_id))
    return job


def variant_edit(
    *,
    actor,
    variant: Variant,
    instruction: str,
    deployment: Deployment | None = None,
    mask_png: bytes | None = None,
    references: list[Variant] | None = None,
    locale: str = "",
    operation: str | None = None,
    reference_uploads: list[bytes] | None = None,
) -> GenerationJob:
    """Start an edit of ``variant``. The result is a new variant whose parents are the base (and any
    references); the base itself never changes."""
    if not instruction.strip():
        raise StudioError("Describe the change you want.", field_errors={"instruction": "Write an instruction."})
    base_job = variant.job
    deployment = deployment or base_job.deployment
    request = LaunchRequest(
        deployment=deployment,
        target_width=base_job.target_width,
        target_height=base_job.target_height,
        n=1,
        quality=base_job.params.get("quality", "auto"),
        output_format=base_job.params.get("output_format", "png"),
        background=base_job.params.get("background", ""),
        route=base_job.route if deployment == base_job.deployment else "explicit",
        locale=locale or variant.locale,
        target_format=base_job.target_format,
    )
    if operation is None:
        operation = Operation.INPAINT if mask_png else Operation.EDIT
    return job_launch(
        actor=actor,
        version=base_job.draft_version,
        request=request,
        operation=operation,
        base_variant=variant,
        instruction=instruction.strip(),
        references=references,
        mask_png=mask_png,
        reference_uploads=reference_uploads,
    )


# --- Execution (called from the Celery task; safe to run twice) ------------------------------------------


def _settle(job: GenerationJob, actual: Decimal) -> None:
    campaign = Campaign.objects.select_for_update(of=("self",)).get(pk=job.campaign_id)
    campaign.reserved_cost = max(Decimal(0), campaign.reserved_cost - job.reserved_cost)
    campaign.spent_cost += actual
    campaign.save(update_fields=["reserved_cost", "spent_cost"])
    job.reserved_cost = Decimal(0)


def _finish_without_images(
    job: GenerationJob,
    *,
    status: str,
    code: str,
    message: str,
    action: str,
    data: dict | None = None,
    categories: list | None = None,
) -> None:
    _settle(job, Decimal(0))
    job.status = status
    job.error_code = code
    job.error_message = message
    job.safety_categories = categories or []
    job.actual_cost = Decimal(0)
    job.progress = 100
    job.finished_at = timezone.now()
    job.save(
        update_fields=[
            "status",
            "error_code",
            "error_message",
            "safety_categories",
            "actual_cost",
            "progress",
            "finished_at",
            "reserved_cost",
        ]
    )
    audit_append(
        workspace=job.workspace,
        actor=None,
        action=action,
        subject=job,
        data={"code": code, "message": message, "categories": categories or [], **(data or {})},
    )


def _screen_prompt(job: GenerationJob) -> str:
    """Pre-screen the prompt (and instruction) once per job. Returns "ok", "pending" or "blocked"."""
    from studio.safety.services import screen_prompt, screening_record

    if job.assessments.filter(stage="prompt").exists() and job.status != JobStatus.SAFETY_PENDING:
        return "ok"
    screening = screen_prompt(workspace=job.workspace, text=job.prompt)
    with transaction.atomic():
        locked = GenerationJob.objects.select_for_update(of=("self",)).get(pk=job.pk)
        if locked.is_terminal:
            return "blocked" if locked.status == JobStatus.BLOCKED else "ok"
        screening_record(screening=screening, stage="prompt", workspace=job.workspace, job=locked, text=job.prompt)
        if screening.pending:
            locked.status = JobStatus.SAFETY_PENDING
            locked.error_message = screening.message or "Waiting for the safety service to answer."
            locked.save(update_fields=["status", "error_message"])
            return "pending"
        if screening.verdict == "block":
            _finish_without_images(
                locked,
                status=JobStatus.BLOCKED,
                code="prompt_blocked",
                message=screening.message,
                action="studio.job.blocked",
                data={"stage": "prompt", "decided_by": screening.decided_by},
            )
            return "blocked"
    return "ok"


def _provider_request(job: GenerationJob):
    from studio.lib.providers import EditRequest, GenerationRequest

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


def _thumbnail(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as img:
        img.thumbnail((THUMBNAIL_EDGE, THUMBNAIL_EDGE))
        out = io.BytesIO()
        img.convert("RGBA" if img.mode in ("RGBA", "LA", "P") else "RGB").save(out, format="WEBP", quality=80)
    return out.getvalue()


def _store_image(workspace_slug: str, kind: str, sha: str, ext: str, data: bytes) -> str:
    """Content-addressed names: a retried task writes the same path instead of a second file."""
    name = f"{kind}/{workspace_slug}/{sha[:2]}/{sha}.{ext}"
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(data))
    return name


def job_execute(*, job_id: int) -> GenerationJob:
    """Run one job to completion. Idempotent: a redelivered or repeated run of a finished job does
    nothing, and variants plus cost are written once, in one transaction, under the job's row lock."""
    from approvals.reviews.services import reviews_supersede
    from studio.generation.pricing import PriceNotFound, cost_of_usage, price_for
    from studio.lib.providers import ErrorKind, ProviderError, get_provider
    from studio.lib.sizing import check_returned_size
    from studio.safety.services import provider_filters_record

    job = GenerationJob.objects.select_related("deployment__profile", "workspace", "draft_version__draft").get(
        pk=job_id
    )
    if job.is_terminal:
        return job
    outcome = _screen_prompt(job)
    if outcome != "ok":
        if outcome == "pending":
            raise JobRetry(countdown=_safety_backoff(job), reason="safety check pending")
        return GenerationJob.objects.get(pk=job_id)

    with transaction.atomic():
        job = (
            GenerationJob.objects.select_for_update(of=("self",))
            .select_related("deployment__profile", "workspace", "draft_version__draft")
            .get(pk=job_id)
        )
        if job.is_terminal:
            return job
        job.status = JobStatus.RUNNING
        job.attempts += 1
        job.progress = 30
        job.started_at = job.started_at or timezone.now()
        job.error_message = ""
        job.save(update_fields=["status", "attempts", "progress", "started_at", "error_message"])

    try:
        price = price_for(model_name=job.deployment.profile.name, provider=job.deployment.provider)
    except PriceNotFound:
        return _job_provider_failed(
            job_id=job_id,
            error=ProviderError(
                f"No price table applies to {job.deployment.profile.name}: ask an admin to add one before generating.",
                kind=ErrorKind.FATAL,
                code="no_price",
            ),
        )
    kind, provider_request = _provider_request(job)
    provider = get_provider(job.deployment)
    started = time.monotonic()
    try:
        result = provider.generate(provider_request) if kind == "generate" else provider.edit(provider_request)
    except ProviderError as exc:
        return _job_provider_failed(job_id=job_id, error=exc)
    latency_ms = int((time.monotonic() - started) * 1000)

    # Decode, hash, thumbnail and store before taking the lock: slow work outside the transaction.
    stored = []
    for index, image in enumerate(result.images):
        sha = hashlib.sha256(image.data).hexdigest()
        path = _store_image(job.workspace.slug, "variants", sha, image.format, image.data)
        thumb = _store_image(job.workspace.slug, "thumbs", sha, "webp", _thumbnail(image.data))
        stored.append((index, image, sha, path, thumb))

    actual = cost_of_usage(result.usage, price).quantize(COST_QUANTUM)
    with transaction.atomic():
        job = (
            GenerationJob.objects.select_for_update(of=("self",))
            .select_related("workspace", "draft_version__draft")
            .get(pk=job_id)
        )
        if job.is_terminal:  # another delivery finished first: keep its variants and cost
            return job
        _settle(job, actual)
        plan = _plan_of(job)
        variants = []
        for index, image, sha, path, thumb in stored:
            mismatch = check_returned_size(plan, image.width, image.height)
            variant = Variant(
                workspace=job.workspace,
                job=job,
                draft=job.draft_version.draft,
                index=index,
                operation=job.operation,
                locale=job.locale,
                created_by=job.created_by,
                width=image.width,
                height=image.height,
                sha256=sha,
                format=image.format,
                size_mismatch=mismatch is not None,
                filter_results=image.filter_results,
                status=VariantStatus.SAFETY_PENDING,
            )
            variant.image.name = path
            variant.thumbnail.name = thumb
            variant.save()
            if job.base_variant_id:
                variant.parents.add(job.base_variant_id, *job.reference_variants.values_list("pk", flat=True))
            audit_append(
                workspace=job.workspace,
                actor=job.created_by,
                action="studio.variant.created",
                subject=variant,
                data={
                    "job": job.pk,
                    "sha256": sha,
                    "size": variant.size,
                    "planned": job.planned_size,
                    "size_mismatch": mismatch,
                    "operation": job.operation,
                    "parent": job.base_variant_id,
                },
            )
            if image.filter_results:
                provider_filters_record(
                    workspace=job.workspace,
                    job=job,
                    variant=variant,
                    stage="provider_output",
                    filter_results=image.filter_results,
                )
            variants.append(variant)
        if result.prompt_filter_results:
            provider_filters_record(
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
        if mismatches:
            job.error_message = (
                f"The service returned {mismatches[0].size} instead of the planned "
                f"{job.planned_size}; the image is kept and its rendition is planned from its "
                "real size."
            )
        job.save(
            update_fields=[
                "status",
                "progress",
                "usage",
                "actual_cost",
                "provider_request_id",
                "latency_ms",
                "finished_at",
                "reserved_cost",
                "error_message",
            ]
        )
        audit_append(
            workspace=job.workspace,
            actor=None,
            action="studio.job.succeeded",
            subject=job,
            data={
                "variants": [v.pk for v in variants],
                "usage": job.usage,
                "actual_cost": actual,
                "estimated_cost": job.estimated_cost,
                "latency_ms": job.latency_ms,
                "request_id": job.provider_request_id,
            },
        )
        if job.base_variant_id:
            reviews_supersede(actor=job.created_by, variant=job.base_variant)
        variant_ids = [v.pk for v in variants]
        transaction.on_commit(lambda: _enqueue_screens(variant_ids))
    return job


def _enqueue_screens(variant_ids: list[int]) -> None:
    from studio.safety.tasks import safety_retry_pending_variant

    for pk in variant_ids:
        safety_retry_pending_variant.delay(pk)


def _plan_of(job: GenerationJob):
    from studio.lib.sizing import plan_size

    return plan_size(target_width=job.target_width, target_height=job.target_height, profile=job.deployment.profile)


def _safety_backoff(job: GenerationJob) -> float:
    from studio.lib.providers.retry import backoff_seconds

    return backoff_seconds(max(job.attempts, 1), None)


def _job_provider_failed(*, job_id: int, error) -> GenerationJob:
    from studio.lib.providers import ErrorKind
    from studio.lib.providers.retry import backoff_seconds
    from studio.safety.services import provider_filters_record

    with transaction.atomic():
        job = GenerationJob.objects.select_for_update(of=("self",)).select_related("workspace").get(pk=job_id)
        if job.is_terminal:
            return job
        if error.kind == ErrorKind.RETRYABLE and job.attempts <= settings.IMPRIMATUR_PROVIDER_MAX_RETRIES:
            job.status = JobStatus.RETRYING
            job.error_message = f"{error.user_message} Trying again automatically (attempt {job.attempts + 1})."
            job.save(update_fields=["status", "error_message"])
            audit_append(
                workspace=job.workspace,
                actor=None,
                action="studio.job.retrying",
                subject=job,
                data={
                    "code": error.code,
                    "status": error.status_code,
                    "retry_after": error.retry_after,
                    "attempt": job.attempts,
                },
            )
            countdown = backoff_seconds(job.attempts, error.retry_after)
        elif error.kind == ErrorKind.BLOCKED:
            stage = "provider_prompt" if error.stage in ("prompt", "input") else "provider_output"
            provider_filters_record(
                workspace=job.workspace,
                job=job,
                stage=stage,
                filter_results=error.filter_results,
                blocked=True,
                categories=error.categories,
            )
            _finish_without_images(
                job,
                status=JobStatus.BLOCKED,
                code=error.code or "provider_blocked",
                message=error.user_message,
                action="studio.job.blocked",
                data={"stage": stage, "request_id": error.request_id},
                categories=error.categories,
            )
            return job
        else:
            message = error.user_message
            if error.kind == ErrorKind.RETRYABLE:
                message = f"{error.user_message} We tried {job.attempts} times and gave up; nothing was charged."
            _finish_without_images(
                job,
                status=JobStatus.FAILED,
                code=error.code or str(error.kind),
                message=message,
                action="studio.job.failed",
                data={"status": error.status_code, "kind": str(error.kind), "request_id": error.request_id},
            )
            return job
    raise JobRetry(countdown=countdown, reason=error.user_message)


def job_run_inline(*, job_id: int, sleep=time.sleep) -> GenerationJob:
    """Run a job in this process with the same retries the worker applies (used by the CLI)."""
    while True:
        try:
            return job_execute(job_id=job_id)
        except JobRetry as retry:
            sleep(retry.countdown)


def job_give_up(*, job_id: int, reason: str) -> GenerationJob:
    """Close a job that kept asking for a retry (e.g. the safety service never answered)."""
    with transaction.atomic():
        job = GenerationJob.objects.select_for_update(of=("self",)).select_related("workspace").get(pk=job_id)
        if job.is_terminal:
            return job
        _finish_without_images(
            job,
            status=JobStatus.FAILED,
            code="gave_up",
            message=f"We could not finish this job ({reason}). Nothing was charged; please try again later.",
            action="studio.job.failed",
            data={"reason": reason},
        )
    return job


def variant_screen_inline(*, variant_id: int, sleep=time.sleep, attempts: int = 6) -> Variant:
    """Screen a variant in this process with bounded retries (CLI); leaves it pending if never answered."""
    from studio.safety.services import variant_rescreen
    from studio.safety.tasks import backoff_seconds as safety_backoff

    for attempt in range(attempts):
        screening = variant_rescreen(variant_id=variant_id)
        if screening is None or not screening.pending:
            break
        sleep(min(safety_backoff(attempt), 30))
    return Variant.objects.get(pk=variant_id)


@transaction.atomic
def job_rerun(*, actor, job: GenerationJob) -> GenerationJob:
    """Run ``job`` again exactly: same deployment, parameters, planned size, prompt and inputs. The result
    is a new sibling (same parents), never an overwrite. Budget is reserved again from the original estimate
    re-computed today, since prices may have changed."""
    from studio.generation.tasks import job_run

    require_role(actor, job.workspace, Role.MARKETER, action="re-run generations")
    if not job.deployment.active:
        raise StudioError("The deployment this was made with is no longer active; edit it with another one instead.")
    references = list(job.reference_variants.order_by("pk"))
    estimate = _estimate(
        deployment=job.deployment,
        quality=job.params.get("quality", "auto"),
        width=job.planned_width,
        height=job.planned_height,
        n=job.n,
        prompt=job.prompt,
        input_images=(1 + len(references) + len(job.reference_uploads)) if job.base_variant_id else 0,
    )
    _reserve_budget(campaign=job.campaign, amount=estimate.amount)
    rerun = GenerationJob(
        workspace=job.workspace,
        campaign=job.campaign,
        draft_version=job.draft_version,
        deployment=job.deployment,
        target_format=job.target_format,
        operation=job.operation,
        created_by=actor,
        prompt=job.prompt,
        instruction=job.instruction,
        locale=job.locale,
        params=dict(job.params),
        n=job.n,
        target_width=job.target_width,
        target_height=job.target_height,
        planned_width=job.planned_width,
        planned_height=job.planned_height,
        plan_notes=list(job.plan_notes),
        route=job.route,
        base_variant=job.base_variant,
        reference_uploads=list(job.reference_uploads),
        rerun_of=job,
        estimated_cost=estimate.amount,
        estimate_basis=estimate.basis,
        reserved_cost=estimate.amount,
    )
    if job.mask:
        rerun.mask.name = job.mask.name  # the same stored mask file: inputs are identical by construction
    rerun.save()
    if references:
        rerun.reference_variants.set(references)
    audit_append(
        workspace=job.workspace,
        actor=actor,
        action="studio.job.rerun",
        subject=rerun,
        data={
            "rerun_of": job.pk,
            "params": rerun.params,
            "planned": rerun.planned_size,
            "estimated_cost": estimate.amount,
        },
    )
    rerun_id = rerun.pk
    transaction.on_commit(lambda: job_run.delay(rerun_id))
    return rerun


LOCALISE_INSTRUCTION = (
    "Keep the layout, composition, imagery and colours exactly as they are. Replace only the text in the "
    'image with: "{copy}" (language: {locale}). Match the original typography\'s size, weight and position.'
)


def variant_localise(*, actor, variant: Variant, locales: list[str]) -> list[GenerationJob]:
    """Create one localised edit per locale from an approved master. Each result is its own node in the
    lineage, screened and reviewed on its own; the locale's copy comes from the draft version."""
    from studio.safety.models import SafetyVerdict

    if variant.status not in (VariantStatus.APPROVED, VariantStatus.PUBLISHED):
        raise StudioError("Localise from an approved master: this version is not approved yet.")
    if variant.safety_verdict == SafetyVerdict.BLOCK:
        raise StudioError("This version is blocked by the safety layer.")
    copy = variant.job.draft_version.locale_copy or {}
    missing = [loc for loc in locales if not copy.get(loc)]
    if not locales:
        raise StudioError("Choose at least one locale.", field_errors={"locales": "Choose at least one locale."})
    if missing:
        raise StudioError(
            "Add the in-image copy for " + ", ".join(missing) + " to the draft first.",
            field_errors={"locales": "No copy for " + ", ".join(missing)},
        )
    jobs = []
    with transaction.atomic():
        for locale in locales:
            jobs.append(
                variant_edit(
                    actor=actor,
                    variant=variant,
                    locale=locale,
                    operation=Operation.LOCALISE,
                    instruction=LOCALISE_INSTRUCTION.format(copy=copy[locale], locale=locale),
                )
            )
    return jobs


SAFETY_SETTING_FIELDS = (
    "sector",
    "regulated",
    "safety_fail_open",
    "safety_screeners",
    "blocklist_terms",
    "safety_policy",
    "review_sla_hours",
    "style_guide",
)


@transaction.atomic
def workspace_settings_changed(*, actor, workspace, before: dict) -> dict:
    """Record a change of a workspace's configuration (made through the admin) in the audit chain, in the
    admin's transaction. Switching a workspace to fail open is called out explicitly, because it lets
    images through when a screener is down. Queues the Azure blocklist sync when the terms changed."""
    from studio.safety.tasks import safety_blocklist_sync

    changes = {
        field: {"before": before.get(field), "after": getattr(workspace, field)}
        for field in SAFETY_SETTING_FIELDS
        if before.get(field) != getattr(workspace, field)
    }
    if not changes:
        return changes
    action = "studio.workspace.settings_changed"
    if "safety_fail_open" in changes:
        action = (
            "studio.workspace.fail_open_enabled"
            if workspace.safety_fail_open
            else "studio.workspace.fail_open_disabled"
        )
    audit_append(workspace=workspace, actor=actor, action=action, subject=workspace, data={"changes": changes})
    if "blocklist_terms" in changes and "azure" in (workspace.safety_screeners or []):
        workspace_id = workspace.pk
        transaction.on_commit(lambda: safety_blocklist_sync.delay(workspace_id))
    return changes
