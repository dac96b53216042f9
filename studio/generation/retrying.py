"""Retrying a transaction that lost a deadlock or a serialisation conflict, instead of acking it as done.

PostgreSQL aborts one side of a deadlock (SQLSTATE 40P01) or of a serialisation conflict (40001); Django
surfaces it as ``OperationalError``/``DatabaseError`` whose ``__cause__`` is the driver's error carrying
``sqlstate`` (psycopg 3) or ``pgcode`` (psycopg 2). The transaction rolled back whole, so running it
again is always safe; doing nothing leaves a billed job "running" forever (issue 10).

Two layers: ``transient_db_retry`` re-runs one transaction in-process a few times (cheap, and the
provider's result in memory is not lost); the ``retry_transient_db_errors`` decorator makes a bound Celery
task retry itself with a jittered countdown when the error still escapes, bounded by ``max_retries``.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import DatabaseError

logger = logging.getLogger(__name__)

TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure
T = TypeVar("T")


def is_transient_db_error(exc: BaseException | None) -> bool:
    """True when ``exc`` (or an error it was raised from) is a deadlock or serialisation failure."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        state = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
        if state in TRANSIENT_SQLSTATES:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def jittered(attempt: int, *, base: float = 1.0, cap: float = 30.0) -> float:
    """Full-jitter exponential backoff: a random delay up to ``base * 2**attempt`` (capped)."""
    return random.uniform(0.1, min(cap, base * 2 ** max(attempt, 0)))  # noqa: S311 - not for security


def transient_db_retry(
    fn: Callable[[], T], *, attempts: int = 3, sleep: Callable[[float], None] = time.sleep, base: float = 0.05
) -> T:
    """Run ``fn`` (one whole transaction) again when it loses a deadlock, up to ``attempts`` times."""
    for attempt in range(attempts):
        try:
            return fn()
        except DatabaseError as exc:
            if not is_transient_db_error(exc) or attempt == attempts - 1:
                raise
            logger.warning("transaction lost a deadlock or serialisation conflict; retrying (%s)", attempt + 1)
            sleep(jittered(attempt, base=base, cap=1.0))
    raise AssertionError("unreachable")  # pragma: no cover


# The task keyword that carries how many deadlock retries a task has had. Celery's own counter
# (``request.retries``) also counts the retries a task makes for its own reasons (a job's provider
# back-off: up to 200), so bounding deadlock retries by it left a job past ten provider retries with none.
DB_RETRIES_KWARG = "db_retries"


def retry_transient_db_errors(*, max_retries: int = 5, base: float = 1.0, cap: float = 60.0) -> Callable:
    """Decorate a *bound* Celery task: a transient database error becomes ``self.retry`` with a jittered
    countdown (never a task acked as done); after ``max_retries`` such retries the error propagates.

    The deadlock retries are counted on their own (``DB_RETRIES_KWARG``, taken off before the task runs and
    carried by every later retry of the message), whatever Celery's own retry count is: the task's
    ``max_retries`` bounds its own retries, not these."""

    def decorate(task_fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(task_fn)
        def wrapper(self, *args: Any, **kwargs: Any) -> Any:
            done = kwargs.pop(DB_RETRIES_KWARG, 0)
            done = done if isinstance(done, int) and done >= 0 else 0
            try:
                return task_fn(self, *args, **kwargs)
            except DatabaseError as exc:
                if not is_transient_db_error(exc) or done >= max_retries:
                    raise
                countdown = jittered(done, base=base, cap=cap)
                logger.warning(
                    "%s: transient database error, retrying in %.1fs (%s of %s)",
                    self.name,
                    countdown,
                    done + 1,
                    max_retries,
                )
                raise self.retry(
                    exc=exc,
                    countdown=countdown,
                    kwargs={**kwargs, DB_RETRIES_KWARG: done + 1},
                    # Celery's counter goes up by one here too: never let the task's own limit refuse it.
                    max_retries=(self.request.retries or 0) + 1,
                ) from exc

        return wrapper

    return decorate
