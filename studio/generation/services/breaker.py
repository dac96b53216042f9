"""A circuit breaker per deployment: stop calling an image service that keeps failing, and say so.

States, kept on the deployment row (``consecutive_failures``, ``circuit_open_until``):

- **closed** — fewer than ``threshold()`` transient failures in a row: calls go ahead;
- **open** — the threshold was reached: no new call until ``circuit_open_until`` (one cool-down); jobs
  that meet it are not failed, they wait and retry within their retry budget, and their page (and the
  Generate form, before launch) says "<deployment> is failing; new calls are paused until HH:MM";
- **half-open** — the cool-down is over but the failures were not cleared: exactly one caller is let
  through as a probe (its claim pushes ``circuit_open_until`` one cool-down on); a success closes the
  breaker, a failure opens it again.

Transient means the service is unwell: 5xx, timeouts, connection errors — not a 429 (that is the limiter's
business: ``deployment_slow_down``) and not a refusal (4xx, safety blocks), which proves the service works.

Every change is one conditional ``UPDATE`` in autocommit, outside any job transaction: no row lock is
held across a call, and a breaker update never waits in the lock order (``studio.generation.locks``).
Deployment rows are only ever referenced by foreign keys, so the ``FOR NO KEY UPDATE`` an UPDATE takes
never conflicts with the ``FOR KEY SHARE`` of a job insert's foreign-key check.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from studio.generation.models import Deployment
from studio.lib.providers import ErrorKind, ProviderError


def threshold() -> int:
    """Consecutive transient failures that open the breaker."""
    return max(1, int(getattr(settings, "IMPRIMATUR_BREAKER_THRESHOLD", 5)))


def cool_down() -> timedelta:
    """How long an open breaker pauses new calls before one probe is let through."""
    return timedelta(seconds=float(getattr(settings, "IMPRIMATUR_BREAKER_COOL_DOWN_SECONDS", 60)))


#: Retryable, but the service is not failing: it (or our own limiter) asked us to slow down.
NOT_FAILURES = frozenset({"rate_limited", "limiter_busy"})


def is_transient_failure(error: ProviderError) -> bool:
    """Counts against the breaker: the service is failing (5xx, timeout, connection), not busy (a 429,
    or no free slot in our own limiter)."""
    return error.kind == ErrorKind.RETRYABLE and error.status_code != 429 and error.code not in NOT_FAILURES


def _state(deployment_id: int) -> tuple[int, datetime | None]:
    row = Deployment.objects.filter(pk=deployment_id).values_list("consecutive_failures", "circuit_open_until").first()
    return row if row is not None else (0, None)


def breaker_paused_until(deployment: Deployment, *, now: datetime | None = None) -> datetime | None:
    """Until when new calls to ``deployment`` are paused (read fresh from the row), or None when closed."""
    now = now or timezone.now()
    _failures, open_until = _state(deployment.pk)
    return open_until if open_until is not None and open_until > now else None


def breaker_admit(deployment: Deployment, *, now: datetime | None = None, just_read: bool = False) -> datetime | None:
    """Before a call: None when it may go ahead, else until when calls are paused. In the half-open state
    one conditional UPDATE lets exactly one caller through as the probe; the others see it open.

    ``just_read``: ``deployment`` was read from the database a moment ago (with the job about to call):
    a closed breaker in that row lets the call go ahead without reading the row again; anything else is
    checked against the row as it is now."""
    now = now or timezone.now()
    if just_read and deployment.consecutive_failures == 0 and deployment.circuit_open_until is None:
        return None
    failures, open_until = _state(deployment.pk)
    if open_until is not None and open_until > now:
        return open_until
    if failures < threshold():
        return None
    probe_until = now + cool_down()
    won = (
        Deployment.objects.filter(pk=deployment.pk, consecutive_failures__gte=threshold())
        .filter(Q(circuit_open_until__isnull=True) | Q(circuit_open_until__lte=now))
        .update(circuit_open_until=probe_until)
    )
    if won:
        return None
    return breaker_paused_until(deployment, now=now) or probe_until


def breaker_record_failure(deployment: Deployment, *, now: datetime | None = None) -> datetime | None:
    """Count one transient failure (one UPDATE); at the threshold the breaker opens for a cool-down.
    Returns until when calls are now paused, or None while it stays closed. (The SET expressions read the
    row's values from before the UPDATE, so ``>= threshold - 1`` means "this failure reaches it".)"""
    now = now or timezone.now()
    Deployment.objects.filter(pk=deployment.pk).update(
        consecutive_failures=F("consecutive_failures") + 1,
        circuit_open_until=Case(
            When(consecutive_failures__gte=threshold() - 1, then=Value(now + cool_down())),
            default=F("circuit_open_until"),
        ),
    )
    return breaker_paused_until(deployment, now=now)


def breaker_record_success(deployment: Deployment) -> None:
    """The service answered: close the breaker. Writes only when there is something to clear, so a
    healthy deployment's row is not updated on every call."""
    Deployment.objects.filter(pk=deployment.pk).filter(
        Q(consecutive_failures__gt=0) | Q(circuit_open_until__isnull=False)
    ).update(consecutive_failures=0, circuit_open_until=None)


def breaker_message(deployment: Deployment, paused_until: datetime) -> str:
    """What the job page and the Generate form say while the breaker is open."""
    return f"{deployment.name} is failing; new calls are paused until {timezone.localtime(paused_until):%H:%M}."


def breaker_warning(deployment: Deployment | None, *, now: datetime | None = None) -> str:
    """The warning to show before launching on ``deployment`` ("" when its breaker is closed)."""
    if deployment is None or deployment.pk is None:
        return ""
    paused = breaker_paused_until(deployment, now=now)
    return breaker_message(deployment, paused) if paused else ""
