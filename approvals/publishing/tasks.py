"""Publishing's Celery task: take ids, re-fetch, return early when the work is done, call one service.
A refusal becomes an in-app notice (which the progress page shows) instead of a retry loop."""

from __future__ import annotations

from celery import shared_task
from django.contrib.auth import get_user_model
from django.urls import reverse

from approvals.publishing import selectors, services
from approvals.publishing.destination_writes import publication_retry_refused
from approvals.publishing.models import Destination, PublicationStatus
from approvals.reviews.errors import REFUSED
from studio.core.errors import refusal_message
from studio.core.notifications import notification_send
from studio.generation.models import CampaignFormat, Variant
from studio.generation.retrying import retry_transient_db_errors
from studio.runs.models import ProductionRun


def progress_url(*, variant: Variant, format_id: int) -> str:
    return reverse(
        "publishing:publication_progress",
        kwargs={"slug": variant.workspace.slug, "variant_id": variant.pk, "format_id": format_id},
    )


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=300,
    time_limit=360,
    # The name from before publishing had its own app: messages already queued must still find it.
    name="approvals.tasks.publication_render",
)
@retry_transient_db_errors(max_retries=5)
def publication_render(
    self, variant_id: int, format_id: int, actor_id: int, destination_id: int | None = None
) -> int | None:
    """Render and record one publication (to ``destination_id``, else the studio's storage). Idempotent:
    a redelivered message finds the publication; a deadlock or serialisation failure is retried with
    jitter rather than acked as done. A destination that is down ends it "failed" (with a notice)."""
    existing = selectors.publication_for(variant=variant_id, target_format=format_id)
    if existing is not None and existing.status == PublicationStatus.PUBLISHED:
        return existing.pk
    variant = Variant.objects.select_related("workspace", "draft").filter(pk=variant_id).first()
    target_format = CampaignFormat.objects.filter(pk=format_id).first()
    actor = get_user_model().objects.filter(pk=actor_id).first()
    destination = None
    if destination_id is not None and target_format is not None:
        destination = Destination.objects.filter(pk=destination_id, campaign_id=target_format.campaign_id).first()
    if variant is None or target_format is None or actor is None or (destination_id and destination is None):
        return None
    try:
        return services.publication_create(
            actor=actor, variant=variant, target_format=target_format, destination=destination
        ).pk
    except REFUSED as exc:
        publication_retry_refused(variant_id=variant_id, format_id=format_id, message=refusal_message(exc))
        notification_send(
            user=actor,
            workspace=variant.workspace,
            kind=selectors.FAILED_KIND,
            text=f"Publishing {variant.draft.title} as {target_format.name} failed: {refusal_message(exc)}",
            url=progress_url(variant=variant, format_id=format_id),
        )
        return None


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=600,
    time_limit=660,
    name="publishing.run_publish",
)
@retry_transient_db_errors(max_retries=5)
def run_publish_checks(self, run_id: int, actor_id: int) -> int:
    """Publishing a production run (``run_publishing.run_publish`` records this in the outbox): the
    per-image checks and one render task per approved cell, out of the request. Returns how many renders
    it queued; a redelivery finds the published targets no longer ready."""
    from approvals.publishing.run_publishing import run_publish_execute  # it imports this module's render task

    run = ProductionRun.objects.select_related("workspace").filter(pk=run_id).first()
    actor = get_user_model().objects.filter(pk=actor_id).first()
    if run is None or actor is None:
        return 0
    try:
        return len(run_publish_execute(run=run, actor=actor).queued)
    except REFUSED:
        return 0  # the actor lost the right to publish since asking: nothing is published
