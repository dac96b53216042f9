"""``Idempotency-Key`` on POST, as Stripe does it.

The first request with a key claims it (a row, unique per API key, user and key) and its response is
stored; a repeat with the same key and the same method, path and body gets that response again
(``Idempotent-Replayed: true``); the same key with another request is refused (422); a repeat while the
first is still running is told to wait (409). Records expire after ``IMPRIMATUR_API_IDEMPOTENCY_HOURS``.

Only answers to requests that did something are stored: successes, and refusals whose attempt the audit
log recorded (a decision or a publish the rules refused: auditors see who tried, so a repeat must not try
again). Any other error changed nothing (input to fix, a missing role, something not found, a conflict,
a rate limit, a server error), so the key is released and the client may retry with it once it has fixed
the request, as Stripe saves no result when parameters fail validation.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone

from approvals.api.models import ApiKey, IdempotencyRecord
from approvals.api.problems import ProblemConflict, ProblemUnprocessable

HEADER = "Idempotency-Key"
_VALID = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces


class InvalidIdempotencyKey(ProblemUnprocessable):
    status_code = 400
    default_code = "invalid_idempotency_key"
    default_detail = "The Idempotency-Key header must be 1 to 255 printable ASCII characters without spaces."


class IdempotencyKeyReused(ProblemUnprocessable):
    default_code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was already used for a different request. Use a new key for a new request."


class IdempotencyInProgress(ProblemConflict):
    default_code = "idempotency_in_progress"
    default_detail = "A request with this Idempotency-Key is still being processed. Retry in a moment."


@dataclass
class Claim:
    record: IdempotencyRecord


class Replay(Exception):  # noqa: N818 - control flow: answer with the stored response
    def __init__(self, response: HttpResponse) -> None:
        super().__init__("replay")
        self.response = response


def fingerprint(*, method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), b"\n", path.encode(), b"\n", body):
        digest.update(part)
    return digest.hexdigest()


def _replayed(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(record.body, status=record.status_code, content_type=record.content_type or None)
    if record.location:
        response["Location"] = record.location
    response["Idempotent-Replayed"] = "true"
    return response


def idempotency_claim(*, key: ApiKey, user, header: str, fp: str) -> Claim:
    """Claim ``header`` for this request, or raise ``Replay`` / a problem. Commits at once, so a
    concurrent repeat sees the claim."""
    if not _VALID.match(header):
        raise InvalidIdempotencyKey()
    now = timezone.now()
    expires = now + timedelta(hours=settings.IMPRIMATUR_API_IDEMPOTENCY_HOURS)
    for _attempt in range(2):
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    api_key=key, user=user, key=header, fingerprint=fp, expires_at=expires
                )
            return Claim(record=record)
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(api_key=key, user=user, key=header).first()
            if existing is None:
                continue  # it expired and was deleted in between: claim again
            if existing.expires_at <= now:
                IdempotencyRecord.objects.filter(pk=existing.pk).delete()
                continue
            if existing.fingerprint != fp:
                raise IdempotencyKeyReused() from None
            if existing.status_code is None:
                raise IdempotencyInProgress() from None
            raise Replay(_replayed(existing)) from None
    raise IdempotencyInProgress()


def idempotency_store(*, claim: Claim, response: HttpResponse, recorded: bool = False) -> None:
    """Keep ``response`` (already rendered) for repeats if the request did something: a success, or a
    refusal that was ``recorded`` in the audit log. Otherwise release the key."""
    record = claim.record
    status = response.status_code
    if status >= 500 or (status >= 400 and not recorded):
        IdempotencyRecord.objects.filter(pk=record.pk).delete()
        return
    record.status_code = response.status_code
    record.content_type = response.get("Content-Type", "")[:100]
    record.body = response.content.decode("utf-8", errors="replace")
    record.location = response.get("Location", "")[:500]
    record.save(update_fields=["status_code", "content_type", "body", "location"])


def idempotency_sweep(*, now=None) -> int:
    """Delete expired records; returns how many. (Expired keys are also released on their next use.)"""
    deleted, _ = IdempotencyRecord.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted
