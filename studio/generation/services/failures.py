"""How a job ends without images: its prompt is blocked, the image service refuses or fails, or it keeps
asking for retries until the task gives up. Each ending settles the budget (nothing is charged), closes
the job and records why, in one transaction under the job's row lock.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from studio.generation import events
from studio.generation.errors import JobRetry
from studio.generation.locks import job_lock, job_lock_with_campaign
from studio.generation.models import GenerationJob, JobStatus
from studio.generation.screening import provider_filters_record, screening_record
from studio.generation.services import breaker
from studio.generation.services.budget import budget_settle
from studio.generation.services.redacting import error_redact, text_redact
from studio.lib.providers import ErrorKind, ProviderError
from studio.lib.providers.retry import LONG_CALL_SECONDS, budget_backoff_seconds
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
    # ``prompt_screened``: annotated by ``job_execute``'s read of the job, which saves this query per cell.
    screened = getattr(job, "prompt_screened", None)
    if screened is None:
        screened = job.assessments.filter(stage="prompt").exists()
    if screened and job.status != JobStatus.SAFETY_PENDING:
        return "ok"
    screening = screen_prompt(workspace=job.workspace, text=job.prompt)
    settles = not screening.pending and screening.verdict == "block"
    with transaction.atomic():
        # Lock order (studio.generation.locks): campaign, then job, audit last. The campaign only when a
        # block settles the budget: evidence about an allowed or pending prompt concerns the job alone, and
        # taking the campaign row there queued every cell of a production run on it once more.
        locked = job_lock_with_campaign(job.pk, related=()) if settles else job_lock(job.pk, related=())
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


TIMEOUT_BILLED = "the provider may have billed the timed-out attempt"


def _budget_left(job: GenerationJob, now) -> float:
    """Seconds left of the deployment's retry budget, counted from the job's first attempt."""
    first = job.started_at or job.created_at or now
    return job.deployment.retry_budget_seconds - (now - first).total_seconds()


def _retry_countdown(job: GenerationJob, error: ProviderError, *, now, left: float) -> float:
    """Capped exponential backoff (or the server's retry-after), never shorter than an open breaker's
    pause, and — after a timeout on a long-running model — never shorter than a cool-down, so the same
    long (possibly billed) request is not sent again at once. Never past the end of the budget."""
    countdown = budget_backoff_seconds(job.attempts, error.retry_after)
    if error.code == "timeout" and job.deployment.request_timeout_seconds >= LONG_CALL_SECONDS:
        countdown = max(countdown, breaker.cool_down().total_seconds())
    paused = breaker.breaker_paused_until(job.deployment, now=now)
    if paused is not None:
        countdown = max(countdown, (paused - now).total_seconds() + 1)
    return round(max(1.0, min(countdown, left)), 3)


def _timeout_note(job: GenerationJob, error: ProviderError) -> str:
    """Said on the job (kept in ``plan_notes``, shown with its message) after a timed-out call."""
    if error.code != "timeout":
        return ""
    note = f"Attempt {job.attempts} timed out after {job.deployment.request_timeout_seconds} s: {TIMEOUT_BILLED}."
    job.plan_notes = [*(job.plan_notes or []), note]
    return note


def timeout_notes(job: GenerationJob) -> str:
    """The job's timed-out attempts in words ("" when none), for the message it ends with."""
    notes = [n for n in (job.plan_notes or []) if TIMEOUT_BILLED in str(n)]
    if not notes:
        return ""
    count = len(notes)
    return f"{count} attempt{'s' if count != 1 else ''} timed out: {TIMEOUT_BILLED}."


def job_provider_failed(*, job_id: int, error: ProviderError) -> GenerationJob:
    """Retry later (raises ``JobRetry``), or close the job as blocked or failed, by the error's kind.

    A transient error (5xx, timeout, connection, 429) is retried for as long as the deployment's retry
    budget (``Deployment.retry_budget_seconds``, from the first attempt) lasts, with capped exponential
    backoff; after that the job fails with nothing charged."""
    error = error_redact(error)  # provider text may echo a key: never store it (job, audit chain, exports)
    now = timezone.now()
    with transaction.atomic():
        # Lock order (studio.generation.locks): campaign, then job; the audit event last.
        job = job_lock_with_campaign(job_id, related=("workspace", "deployment"))
        if job.is_terminal:
            return job
        left = _budget_left(job, now)
        if error.kind == ErrorKind.RETRYABLE and left > 0:
            countdown = _retry_countdown(job, error, now=now, left=left)
            note = _timeout_note(job, error)
            paused = breaker.breaker_paused_until(job.deployment, now=now)
            reason = breaker.breaker_message(job.deployment, paused) if paused else error.user_message
            job.status = JobStatus.RETRYING
            job.error_message = " ".join(
                part
                for part in (
                    reason,
                    note and f"The provider may have billed the timed-out attempt (attempt {job.attempts}).",
                    f"Trying again automatically in about {_words(countdown)} (attempt {job.attempts + 1}).",
                )
                if part
            )
            job.save(update_fields=["status", "error_message", "plan_notes"])
            events.job_retrying(job=job, error=error)
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
                _timeout_note(job, error)
                budget = _words(job.deployment.retry_budget_seconds)
                message = (
                    f"{error.user_message} We kept trying for {budget} ({job.attempts} attempts) and gave up; "
                    "nothing was charged to the campaign."
                )
            if billed := timeout_notes(job):
                message = f"{message} {billed}"
            job_finish_without_images(
                job,
                status=JobStatus.FAILED,
                code=error.code or str(error.kind),
                message=message,
                record=events.job_failed,
                data={"status": error.status_code, "kind": str(error.kind), "request_id": error.request_id},
            )
            job.save(update_fields=["plan_notes"])
            return job
    raise JobRetry(countdown=countdown, reason=error.user_message)


def _words(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = round(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def job_wait_for_breaker(*, job_id: int, paused_until) -> GenerationJob:
    """The deployment's breaker is open: the job is not failed and makes no call; it waits (``JobRetry``
    until the pause ends) within its retry budget, and its page says why and until when. Past the budget
    it fails with nothing charged."""
    now = timezone.now()
    with transaction.atomic():
        job = job_lock_with_campaign(job_id, related=("workspace", "deployment"))
        if job.is_terminal:
            return job
        job.started_at = job.started_at or now  # the budget runs from the first attempt to call
        left = _budget_left(job, now)
        message = breaker.breaker_message(job.deployment, paused_until)
        if left <= 0:
            job_finish_without_images(
                job,
                status=JobStatus.FAILED,
                code="circuit_open",
                message=f"{message} It kept failing for longer than this job's retry budget "
                f"({_words(job.deployment.retry_budget_seconds)}), so we stopped; nothing was charged to the campaign.",
                record=events.job_failed,
                data={"status": None, "kind": "circuit_open", "request_id": ""},
            )
            job.save(update_fields=["started_at"])
            return job
        countdown = round(max(1.0, min((paused_until - now).total_seconds() + 1, left)), 3)
        job.status = JobStatus.RETRYING
        job.error_message = f"{message} This job will try again then; nothing is charged while it waits."
        job.save(update_fields=["status", "error_message", "started_at"])
    raise JobRetry(countdown=countdown, reason=message)


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
