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
