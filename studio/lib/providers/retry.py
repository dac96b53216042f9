"""How long to wait before trying a provider call again.

The SDK's own retries are switched off (``max_retries=0``, see ``studio.providers.hosted``): the Celery
task retries instead, so each attempt is recorded on the job and no worker sleeps inside a request.
"""

from __future__ import annotations

import random

BASE_SECONDS = 2.0
CAP_SECONDS = 300.0
# A service asking for more than this is treated as "later": the job waits the cap, not an hour.
MAX_HONOURED_RETRY_AFTER = 900.0


def backoff_seconds(attempt: int, retry_after: float | None = None) -> float:
    """Countdown before attempt ``attempt + 1``. A server's ``retry_after`` (seconds) wins when given;
    otherwise exponential backoff with full jitter, capped, so a burst of failed jobs does not come back
    in lockstep."""
    if retry_after is not None and retry_after >= 0:
        return min(float(retry_after), MAX_HONOURED_RETRY_AFTER)
    exponent = min(max(int(attempt), 1) - 1, 16)
    ceiling = min(CAP_SECONDS, BASE_SECONDS * (2**exponent))
    return round(random.uniform(ceiling / 2, ceiling), 3)


# A provider outage is ridden out on a time budget per deployment (``Deployment.retry_budget_seconds``,
# 10 minutes by default) rather than a count of attempts: waits double from 2 s up to this cap, so a
# one-minute outage costs a few attempts and a ten-minute one about fifteen.
BUDGET_CAP_SECONDS = 60.0
# A call whose deployment allows this long (or longer) is a long-running model's call: after a timeout
# the same long (and possibly billed) request is not sent again at once.
LONG_CALL_SECONDS = 60.0


def budget_backoff_seconds(attempt: int, retry_after: float | None = None, *, cap: float = BUDGET_CAP_SECONDS) -> float:
    """Countdown before attempt ``attempt + 1`` within a time budget: the server's ``retry_after`` when it
    gave one (up to ``MAX_HONOURED_RETRY_AFTER``), else capped exponential backoff with jitter."""
    if retry_after is not None and retry_after >= 0:
        return min(float(retry_after), MAX_HONOURED_RETRY_AFTER)
    exponent = min(max(int(attempt), 1) - 1, 16)
    ceiling = min(cap, BASE_SECONDS * (2**exponent))
    return round(random.uniform(ceiling / 2, ceiling), 3)
