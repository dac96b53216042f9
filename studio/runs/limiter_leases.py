"""The deployment limiter's database backend (see ``studio.generation.limiter``): used when neither the
broker nor the cache is Redis (``make run``). Each attempt is one short transaction under a row lock on
the deployment, so concurrent workers count the same rows; on SQLite writes serialise anyway."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from studio.generation.limiter import DATABASE_POLL_SECONDS
from studio.generation.models import Deployment
from studio.runs.models import LeaseKind, LimiterLease


class DatabaseBackend:
    poll = DATABASE_POLL_SECONDS

    def acquire(self, *, deployment_id: int, token: str, concurrency: int, rpm: int, lease_seconds: float) -> float:
        with transaction.atomic():
            Deployment.objects.select_for_update(of=("self",), no_key=True).filter(pk=deployment_id).values_list(
                "pk"
            ).first()
            now = timezone.now()
            leases = LimiterLease.objects.filter(deployment_id=deployment_id)
            leases.filter(expires_at__lte=now).delete()
            pause = leases.filter(kind=LeaseKind.PAUSE).aggregate(until=Max("expires_at"))["until"]
            if pause and pause > now:
                return (pause - now).total_seconds()
            if leases.filter(kind=LeaseKind.SLOT).count() >= concurrency:
                return -1
            if rpm > 0:
                minute = leases.filter(kind=LeaseKind.REQUEST)
                if minute.count() >= rpm:
                    oldest = minute.aggregate(first=Min("expires_at"))["first"]
                    return max(0.001, (oldest - now).total_seconds())
            rows = [
                LimiterLease(
                    deployment_id=deployment_id,
                    kind=LeaseKind.SLOT,
                    token=token,
                    expires_at=now + timedelta(seconds=lease_seconds),
                )
            ]
            if rpm > 0:
                rows.append(
                    LimiterLease(
                        deployment_id=deployment_id,
                        kind=LeaseKind.REQUEST,
                        token=token,
                        expires_at=now + timedelta(seconds=60),
                    )
                )
            LimiterLease.objects.bulk_create(rows)
        return 0

    def release(self, *, deployment_id: int, token: str) -> None:
        LimiterLease.objects.filter(deployment_id=deployment_id, kind=LeaseKind.SLOT, token=token).delete()

    def slow_down(self, *, deployment_id: int, seconds: float) -> None:
        LimiterLease.objects.create(
            deployment_id=deployment_id,
            kind=LeaseKind.PAUSE,
            token="retry-after",  # noqa: S106 - a lease label, not a secret
            expires_at=timezone.now() + timedelta(seconds=seconds),
        )
