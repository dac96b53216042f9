"""The event vocabulary of webhooks (every mapped audit action exists; every webhook type has a source),
and the run and budget events delivered end to end: a production run that finishes, and the spend that
crosses a campaign's budget alert, reach a receiver on 127.0.0.1 signed like every other webhook."""

from __future__ import annotations

from decimal import Decimal

import pytest
from standardwebhooks.webhooks import Webhook

from approvals.webhooks import services
from approvals.webhooks.mapping import AUDIT_TO_WEBHOOK
from approvals.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEventType
from studio.core.events import registry
from studio.generation import services as studio_services
from studio.generation.models import Campaign
from studio.runs import services as run_services
from studio.runs.planning import RunSpec, run_plan
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_every_mapped_audit_action_is_a_registered_event_type():
    """A renamed audit action would silently stop its webhook: the table must name real actions."""
    unknown = sorted(action for action in AUDIT_TO_WEBHOOK if action not in registry)
    assert unknown == []
    assert set(AUDIT_TO_WEBHOOK.values()) == set(WebhookEventType.values)  # and every type has a source


@pytest.fixture
def subscribe(ws_admin, workspace, receiver):
    def make(event_type: str) -> str:
        _, secret = services.endpoint_create(
            actor=ws_admin, workspace=workspace, url=receiver.url, event_types=[event_type]
        )
        return secret

    return make


def _one_cell_run(*, marketer, campaign, deployment):
    fmt = f.CampaignFormatFactory(campaign=campaign, name="LinkedIn ad", width=1200, height=628)
    draft = studio_services.draft_create(
        actor=marketer, campaign=campaign, title="Spring sale", text="A bowl of lemons", locale_copy={"en": "Sale"}
    )
    return RunSpec(
        campaign=campaign,
        deployment=deployment,
        formats=[fmt],
        locales=["en"],
        n=1,
        quality="low",
        version=draft.versions.get(),
    )


def _launch_and_run(django_capture_on_commit_callbacks, *, marketer, spec):
    with django_capture_on_commit_callbacks(execute=True):  # eager Celery: deliveries are sent on commit
        run = run_services.run_launch(actor=marketer, spec=spec, enqueue=False)
        for cell_id in run.cells.values_list("pk", flat=True):
            run_services.cell_execute(cell_id=cell_id)
    run.refresh_from_db()
    return run


def test_a_finished_run_is_delivered_signed(
    django_capture_on_commit_callbacks, subscribe, receiver, marketer, campaign, offline_deployment
):
    secret = subscribe("run.finished")
    spec = _one_cell_run(marketer=marketer, campaign=campaign, deployment=offline_deployment)
    run = _launch_and_run(django_capture_on_commit_callbacks, marketer=marketer, spec=spec)
    [request] = receiver.wait_for(1)
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload["type"] == "run.finished"
    data = payload["data"]
    assert data["subject"] == {"kind": "runs.productionrun", "id": str(run.pk)}
    assert data["workspace"] == "acme"
    assert data["status"] == "finished"
    assert (data["succeeded"], data["failed"], data["blocked"], data["cancelled"]) == (1, 0, 0, 0)
    assert data["audit_event"]["action"] == "runs.run.finished"
    delivery = WebhookDelivery.objects.get(event_type="run.finished")
    assert request.headers["webhook-id"] == delivery.msg_id
    assert delivery.status == DeliveryStatus.SUCCEEDED


def test_crossing_the_budget_alert_is_delivered_once(
    django_capture_on_commit_callbacks, subscribe, receiver, marketer, campaign, offline_deployment
):
    secret = subscribe("budget.threshold")
    spec = _one_cell_run(marketer=marketer, campaign=campaign, deployment=offline_deployment)
    # The run's reservation alone takes the campaign to 90% of its budget: past the 80% alert.
    Campaign.objects.filter(pk=campaign.pk).update(
        budget=(run_plan(spec).total / Decimal("0.9")).quantize(Decimal("1e-6"))
    )
    campaign.refresh_from_db()
    _launch_and_run(django_capture_on_commit_callbacks, marketer=marketer, spec=spec)
    [request] = receiver.wait_for(1)
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload["type"] == "budget.threshold"
    data = payload["data"]
    assert data["subject"] == {"kind": "studio.campaign", "id": str(campaign.pk)}
    assert data["threshold_percent"] == 80
    assert data["percent"] >= 80
    assert Decimal(data["budget"]) == Campaign.objects.get(pk=campaign.pk).budget
    assert "recipient_ids" not in data  # people's ids are not part of the public contract
    assert WebhookDelivery.objects.filter(event_type="budget.threshold").count() == 1
    assert len(receiver.requests) == 1
