"""How a job ends without images: its prompt is blocked, the image service refuses or fails, or it keeps
asking for retries until the task gives up. Each ending settles the budget (nothing is charged), closes
the job and records why, in one transaction under the job's row lock.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from studio.generation import events
from studio.generation.errors import JobRetry
from studio.generation.locks import job_lock_with_campaign
from studio.generation.models import GenerationJob, JobStatus
from studio.generation.screening import provider_filters_record, screening_record
from studio.generation.services.budget import budget_settle
from studio.generation.services.redacting import error_redact, text_redact
from studio.lib.providers import ErrorKind, ProviderError
from studio.lib.providers.retry import backoff_seconds
from studio.safety.services import screen_prompt

#: A provider block's stage (``ProviderError.stage``) as the assessment's ``SafetyStage``.
PROVIDER_STAGES = {"prompt": "provider_prompt", "input": "provider_prompt", "output": "provider_output"}


def job_finish_without_images(
    job: GenerationJob,
    *,
    status: str,
    code: str,
    message: str,
    record: Callable[..., object],
    data: dict | None = None,
    categories: list | None = None,
) -> None:
    """Close ``job`` (locked by the caller) with nothing charged; ``record`` is its event builder."""
    budget_settle(job=job, actual=Decimal(0))
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
    record(job=job, code=code, message=message, categories=categories, data=data)


def job_screen_prompt(job: GenerationJob) -> str:
    """Pre-screen the prompt (and instruction) once per job. Returns "ok", "pending" or "blocked"."""
    if job.assessments.filter(stage="prompt").exists() and job.status != JobStatus.SAFETY_PENDING:
        return "ok"
    screening = screen_prompt(workspace=job.workspace, text=job.prompt)
    with transaction.atomic():
        # Lock order (studio.generation.locks): campaign, then job (a block settles the budget), audit last.
        locked = job_lock_with_campaign(job.pk, related=())
        if locked.is_terminal:
            return "blocked" if locked.status == JobStatus.BLOCKED else "ok"
        screening_record(screening=screening, stage="prompt", workspace=job.workspace, job=locked, text=job.prompt)
        if screening.pending:
            locked.status = JobStatus.SAFETY_PENDING
            locked.error_message = screening.message or "Waiting for the safety service to answer."
            locked.save(update_fields=["status", "error_message"])
            return "pending"
        if screening.verdict == "block":
            job_finish_without_images(
                locked,
                status=JobStatus.BLOCKED,
                code="prompt_blocked",
                message=screening.message,
                record=events.job_blocked,
                data={"stage": "prompt", "decided_by": screening.decided_by},
            )
            return "blocked"
    return "ok"


def job_provider_failed(*, job_id: int, error: ProviderError) -> GenerationJob:
    """Retry later (raises ``JobRetry``), or close the job as blocked or failed, by the error's kind."""
    error = error_redact(error)  # provider text may echo a key: never store it (job, audit chain, exports)
    with transaction.atomic():
        # Lock order (studio.generation.locks): campaign, then job; the audit event last.
        job = job_lock_with_campaign(job_id, related=("workspace",))
        if job.is_terminal:
            return job
        if error.kind == ErrorKind.RETRYABLE and job.attempts <= settings.IMPRIMATUR_PROVIDER_MAX_RETRIES:
            job.status = JobStatus.RETRYING
            job.error_message = f"{error.user_message} Trying again automatically (attempt {job.attempts + 1})."
            job.save(update_fields=["status", "error_message"])
            events.job_retrying(job=job, error=error)
            countdown = backoff_seconds(job.attempts, error.retry_after)
        elif error.kind == ErrorKind.BLOCKED:
            # No stage in the reply (OpenAI without moderation_details): "provider_unknown", never a guess.
            stage = PROVIDER_STAGES.get(error.stage, "provider_unknown")
            provider_filters_record(
                workspace=job.workspace,
                job=job,
                stage=stage,
                filter_results=error.filter_results,
                blocked=True,
                categories=error.categories,
            )
            job_finish_without_images(
                job,
                status=JobStatus.BLOCKED,
                code=error.code or "provider_blocked",
                message=error.user_message,
                record=events.job_blocked,
                data={"stage": stage, "request_id": error.request_id},
                categories=error.categories,
            )
            return job
        else:
            message = error.user_message
            if error.kind == ErrorKind.RETRYABLE:
                message = f"{error.user_message} We tried {job.attempts} times and gave up; nothing was charged."
            job_finish_without_images(
                job,
                status=JobStatus.FAILED,
                code=error.code or str(error.kind),
                message=message,
                record=events.job_failed,
                data={"status": error.status_code, "kind": str(error.kind), "request_id": error.request_id},
            )
            return job
    raise JobRetry(countdown=countdown, reason=error.user_message)


def job_give_up(*, job_id: int, reason: str) -> GenerationJob:
    """Close a job that kept asking for a retry (e.g. the safety service never answered)."""
    reason = text_redact(reason)
    with transaction.atomic():
        # Lock order (studio.generation.locks): campaign, then job; the audit event last.
        job = job_lock_with_campaign(job_id, related=("workspace",))
        if job.is_terminal:
            return job
        job_finish_without_images(
            job,
            status=JobStatus.FAILED,
            code="gave_up",
            message=f"We could not finish this job ({reason}). Nothing was charged; please try again later.",
            record=events.job_failed,
            data={"reason": reason},
        )
    return job
