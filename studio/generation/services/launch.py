"""Starting jobs: the launch checks, the size plan, the estimate and the budget reservation.

A launch, an edit, a localisation and a re-run all build their job through ``_job_build``, so every job
that reaches the image service passed the same checks (deployment available, capabilities, routing,
size plan, prompt length) and reserved its estimated cost under the campaign's row lock.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import transaction

from studio.core.models import Role, Workspace
from studio.core.outbox import PendingPublish, outbox_enqueue
from studio.core.permissions import require_role
from studio.generation import events
from studio.generation.errors import StudioError
from studio.generation.models import (
    CampaignFormat,
    Deployment,
    DraftVersion,
    GenerationJob,
    Operation,
    Variant,
)
from studio.generation.pricing import Estimate, PriceNotFound
from studio.generation.services.budget import budget_reserve
from studio.generation.services.calibration import calibrated_estimate
from studio.generation.services.drafts import missing_variables, prompt_compose
from studio.generation.services.storage import image_store
from studio.lib.capabilities import check_request
from studio.lib.providers.api_versions import surface_warnings
from studio.lib.providers.routing import available_routes, route_overrides
from studio.lib.sizing import SizeError, SizePlan, plan_size

logger = logging.getLogger(__name__)

MAX_PROMPT_CHARS = 32000


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


@dataclass(frozen=True)
class JobInputs:
    """What a job sends besides its prompt: the image it edits, references and a mask. New uploads are
    bytes (stored on build); a re-run passes the stored paths and mask file of the job it repeats."""

    base_variant: Variant | None = None
    references: list[Variant] = field(default_factory=list)
    reference_uploads: list[bytes] = field(default_factory=list)
    stored_uploads: list[str] = field(default_factory=list)
    mask_png: bytes | None = None
    stored_mask: str = ""

    @property
    def has_mask(self) -> bool:
        return self.mask_png is not None or bool(self.stored_mask)

    @property
    def image_count(self) -> int:
        return 1 + len(self.references) + len(self.reference_uploads) + len(self.stored_uploads)


def _validate_launch(
    *, workspace: Workspace, request: LaunchRequest, operation: str, has_mask: bool = False, input_images: int = 1
) -> SizePlan:
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
    # What the deployment's surface (Azure api-version) does not document: shown before spending, kept on the job.
    plan.notes.extend(surface_warnings(deployment, size=plan.size, output_format=request.output_format))
    return plan


def _estimate(**kwargs) -> Estimate:
    try:
        return calibrated_estimate(**kwargs)  # the same calibration as a run's estimate and the cost page
    except PriceNotFound as exc:
        model = kwargs["deployment"].profile.name
        raise StudioError(
            f"No price table applies to {model}, so the cost cannot be estimated. Ask an admin to add one.",
            field_errors={"deployment": "No price table for this model."},
        ) from exc


def _request_params(request: LaunchRequest, plan: SizePlan, extra: dict) -> dict:
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
    plan: SizePlan
    estimate: Estimate
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


def _job_build(
    *,
    actor,
    version: DraftVersion,
    request: LaunchRequest,
    operation: str,
    prompt: str,
    instruction: str,
    inputs: JobInputs,
    rerun_of: GenerationJob | None = None,
) -> tuple[GenerationJob, Estimate]:
    """The one way a job is made: validate, plan, estimate, reserve, save. Runs in the caller's
    transaction; the caller records its own event and enqueues the job. ``rerun_of`` asks for the exact
    call that job made: a re-run whose checks now plan a different call is refused."""
    draft = version.draft
    workspace = draft.workspace
    plan = _validate_launch(
        workspace=workspace,
        request=request,
        operation=operation,
        has_mask=inputs.has_mask,
        input_images=inputs.image_count,
    )
    if len(prompt) > MAX_PROMPT_CHARS:
        raise StudioError(
            "The prompt is too long (over 32,000 characters including the brand style).",
            field_errors={"text": "Shorten the draft."},
        )
    params = _request_params(request, plan, route_overrides(request.deployment, request.route))
    if rerun_of is not None and (params, plan.width, plan.height) != (
        rerun_of.params,
        rerun_of.planned_width,
        rerun_of.planned_height,
    ):
        raise StudioError(
            "The deployment or its model's sizes changed since this ran, so it cannot be repeated exactly. "
            "Start a new generation or edit instead."
        )
    estimate = _estimate(
        deployment=request.deployment,
        quality=request.quality,
        width=plan.width,
        height=plan.height,
        n=request.n,
        prompt=prompt,
        input_images=inputs.image_count if inputs.base_variant else 0,
    )
    # Lock order (studio.generation.locks): the campaign (budget) before the new job row and before the
    # caller's audit event, which takes the chain head last.
    budget_reserve(campaign=draft.campaign, amount=estimate.amount)
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
        params=params,
        target_width=request.target_width,
        target_height=request.target_height,
        planned_width=plan.width,
        planned_height=plan.height,
        plan_notes=list(plan.notes),
        route=request.route,
        base_variant=inputs.base_variant,
        rerun_of=rerun_of,
        reference_uploads=list(inputs.stored_uploads),
        estimated_cost=estimate.amount,
        estimate_basis=estimate.basis,
        reserved_cost=estimate.amount,
    )
    for data in inputs.reference_uploads:
        sha = hashlib.sha256(data).hexdigest()
        job.reference_uploads.append(image_store(workspace.slug, "references", sha, "png", data))
    if inputs.mask_png is not None:
        name = f"mask-{hashlib.sha256(inputs.mask_png).hexdigest()[:16]}.png"
        job.mask.save(name, ContentFile(inputs.mask_png), save=False)
    elif inputs.stored_mask:
        job.mask.name = inputs.stored_mask  # the same stored mask file: inputs are identical by construction
    job.full_clean(exclude=["reference_variants"])
    job.save()
    if inputs.references:
        job.reference_variants.set(inputs.references)
    return job, estimate


QUEUE_UNREACHABLE = "The queue is unreachable; your job will start when it is back."
JOB_RUN_TASK = "studio.tasks.job_run"  # ``studio.generation.tasks.job_run``: the name never changes


def job_publish(job: GenerationJob) -> PendingPublish:
    """Record the job's run in the outbox, in the caller's transaction; it is published after the commit.

    The job is committed "queued" with its budget reserved together with its outbox row, so a broker that
    is down when the transaction commits only delays the job: the sweeper (``jobs_sweep``) re-sends the
    row, and the request never turns into a 500."""
    return outbox_enqueue(JOB_RUN_TASK, [job.pk], workspace=job.workspace)


def _enqueue(job: GenerationJob) -> None:
    """Publish after commit through the outbox; ``job.queue_unreachable`` then tells the caller (the view)
    that the broker was down (the job starts when it is back)."""
    job.queue_unreachable = False
    pending = job_publish(job)

    def remember() -> None:  # runs after the outbox's own on-commit publish
        job.queue_unreachable = pending.unreachable

    transaction.on_commit(remember)


def queue_unreachable(job: GenerationJob) -> bool:
    """After the launch committed: was the broker down when the job's run was published? (The job is
    saved and reserved either way, and the sweeper re-sends its outbox row.)"""
    return bool(getattr(job, "queue_unreachable", False))


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
    reference_uploads: list[bytes] | None = None,
    enqueue: bool = True,
) -> GenerationJob:
    """Create a job, reserve its estimated cost and enqueue it. Safety screening of the prompt runs in
    the task before anything is sent (and before any money is spent). ``enqueue=False`` is for callers
    that run the job in their own process (the CLI's --wait), so a worker never runs it a second time."""
    require_role(actor, version.draft.workspace, Role.MARKETER, action="generate images")
    references = references or []
    if missing := missing_variables(version):
        raise StudioError(
            "Fill in every template variable first: " + ", ".join(missing) + ".",
            field_errors={"text": "Missing values for " + ", ".join(missing)},
        )
    inputs = JobInputs(
        base_variant=base_variant,
        references=references,
        reference_uploads=reference_uploads or [],
        mask_png=mask_png,
    )
    job, estimate = _job_build(
        actor=actor,
        version=version,
        request=request,
        operation=operation,
        prompt=prompt_compose(version=version, locale=request.locale, instruction=instruction),
        instruction=instruction,
        inputs=inputs,
    )
    events.job_created(job=job, actor=actor, estimate=estimate, references=references)
    if enqueue:
        _enqueue(job)
    return job


@transaction.atomic
def job_rerun(*, actor, job: GenerationJob) -> GenerationJob:
    """Run ``job`` again exactly: same deployment, parameters, planned size, prompt and inputs. The result
    is a new sibling (same parents), never an overwrite. It passes the launch checks again and reserves
    budget from the estimate re-computed today, since prices may have changed; when the deployment or its
    model's sizes changed so that the call would differ, it is refused rather than run differently."""
    require_role(actor, job.workspace, Role.MARKETER, action="re-run generations")
    if not job.deployment.active:
        raise StudioError("The deployment this was made with is no longer active; edit it with another one instead.")
    request = LaunchRequest(
        deployment=job.deployment,
        target_width=job.target_width,
        target_height=job.target_height,
        n=job.n,
        quality=job.params.get("quality", "auto"),
        output_format=job.params.get("output_format", "png"),
        background=job.params.get("background", ""),
        route=job.route,
        locale=job.locale,
        target_format=job.target_format,
    )
    inputs = JobInputs(
        base_variant=job.base_variant,
        references=list(job.reference_variants.order_by("pk")),
        stored_uploads=list(job.reference_uploads),
        stored_mask=job.mask.name if job.mask else "",
    )
    rerun, _ = _job_build(
        actor=actor,
        version=job.draft_version,
        request=request,
        operation=job.operation,
        prompt=job.prompt,
        instruction=job.instruction,
        inputs=inputs,
        rerun_of=job,
    )
    events.job_rerun(job=rerun, rerun_of=job, actor=actor)
    _enqueue(rerun)
    return rerun
