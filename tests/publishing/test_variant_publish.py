"""The studio's publish page (issue 14): a marketer publishes from the variant, never through the reviewer
area. The page shows the image, whose approval it publishes under, the publications so far and each
format's crop and safe zone; a refusal is shown in its words on the page (an htmx post gets its form back);
a broker that is down gives the calm notice and the render waits in the outbox (issue 10)."""

from __future__ import annotations

import re
from unittest import mock

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from kombu.exceptions import OperationalError as KombuOperationalError

from approvals.publishing import services, starting, tasks
from approvals.publishing.destinations import Destination
from approvals.publishing.models import Publication, PublicationStatus
from approvals.reviews import services as review_services
from approvals.reviews.models import StageKind
from studio.core.models import AuditEvent, Role
from studio.core.outbox import services as outbox_services
from studio.core.outbox.models import OutboxMessage
from tests import factories as f
from tests.approvals.factories_reviews import member, variant_for

pytestmark = pytest.mark.django_db


def approve(variant, marketer, reviewer):
    review = review_services.variant_submit(actor=marketer, variant=variant)
    review_services.review_decide(
        actor=reviewer, stage=review.stages.get(kind=StageKind.BRAND), outcome="approve", expected_sha256=variant.sha256
    )
    variant.refresh_from_db()
    return variant


def made(workspace, marketer, campaign):
    return variant_for(workspace, creator=marketer, campaign=campaign, width=1200, height=628)


@pytest.fixture
def approved(workspace, marketer, reviewer, campaign):
    return approve(
        variant_for(workspace, creator=marketer, campaign=campaign, width=1200, height=628), marketer, reviewer
    )


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page_url(variant) -> str:
    return reverse("publishing:variant_publish", args=[variant.workspace.slug, variant.pk])


def _nav(html: str) -> str:
    start = html.index('aria-label="Main"')
    return html[start : html.index("</nav>", start)]


def test_the_variant_pages_publish_button_opens_the_studios_publish_page(approved, marketer):
    variant_page = client_for(marketer).get(reverse("studio:variant", args=["acme", approved.pk])).content.decode()
    assert f'href="{page_url(approved)}">Publish</a>' in variant_page
    assert "#publish-title" not in variant_page  # no longer the review page's panel


def test_the_page_shows_the_image_the_approval_the_previews_and_the_form(approved, marketer, ad_format, campaign):
    Destination.objects.create(
        workspace=campaign.workspace, campaign=campaign, name="CDN", bucket="cdn", is_default=True
    )
    response = client_for(marketer).get(page_url(approved))
    assert response.status_code == 200
    page = response.content.decode()
    crumbs = re.search(r'<nav aria-label="Breadcrumb"[^>]*>(.*?)</nav>', page, re.S).group(1)
    for link in (
        reverse("studio:campaign", args=["acme", campaign.slug]),
        reverse("studio:draft", args=["acme", approved.draft_id]),
        reverse("studio:variant", args=["acme", approved.pk]),
    ):
        assert f'href="{link}"' in crumbs
    assert crumbs.rstrip().endswith("/ Publish")
    assert approved.thumbnail_src in page
    assert "Approved by rob (brand review) on" in page
    assert f'data-rendition-preview="{ad_format.pk}"' in page  # the crop and safe zone over the image
    assert "Not published yet." in page
    assert "Publish at exact size" in page
    assert re.search(r"<option value=\"\d+\" selected>CDN \(Local files\)</option>", page)  # the default destination
    assert f'hx-post="{page_url(approved)}"' in page
    # Studio is the current section; the reviewer area's "Back to queue" is nowhere.
    assert 'aria-current="true">Studio' in _nav(page)
    assert "Back to queue" not in page


def test_publishing_from_the_page_follows_the_render_to_the_publication(
    approved, marketer, ad_format, django_capture_on_commit_callbacks
):
    client = client_for(marketer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(page_url(approved), {"target_format": ad_format.pk})
    assert response.status_code == 302
    assert response["Location"] == tasks.progress_url(variant=approved, format_id=ad_format.pk)
    progress = client.get(response["Location"])  # eager Celery in tests: already rendered
    publication = Publication.objects.get()
    assert progress["Location"] == reverse("publishing:publication_detail", args=["acme", publication.pk])
    assert publication.published_by == marketer
    page = client.get(page_url(approved)).content.decode()
    assert reverse("publishing:publication_detail", args=["acme", publication.pk]) in page
    again = client.post(page_url(approved), {"target_format": ad_format.pk})  # already published: go there
    assert again["Location"] == progress["Location"]
    assert Publication.objects.count() == 1


def test_an_htmx_post_moves_on_with_a_client_redirect(approved, marketer, ad_format):
    response = client_for(marketer).post(page_url(approved), {"target_format": ad_format.pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Redirect"] == tasks.progress_url(variant=approved, format_id=ad_format.pk)


def test_an_image_not_approved_says_why_and_a_refused_post_shows_its_message_on_the_page(
    workspace, marketer, campaign, ad_format
):
    variant = variant_for(workspace, creator=marketer, campaign=campaign, width=1200, height=628)
    client = client_for(marketer)
    page = client.get(page_url(variant)).content.decode()
    assert "Only approved images can be published" in page
    assert "Publish at exact size" not in page
    refused = client.post(page_url(variant), {"target_format": ad_format.pk})
    assert refused.status_code == 422
    body = refused.content.decode()
    assert "<html" in body  # the whole page, with the message in place
    assert re.search(r'role="alert" data-publish-error>Only approved images can be published', body)
    assert not Publication.objects.exists()
    assert AuditEvent.objects.filter(action="approvals.publication.refused", actor=marketer).exists()


def test_a_refused_htmx_post_gets_its_form_section_back_with_the_message(approved, marketer, campaign):
    wide = f.CampaignFormatFactory(campaign=campaign, name="Story", width=1080, height=1920)  # not composed for it
    response = client_for(marketer).post(page_url(approved), {"target_format": wide.pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422  # swapped in by static/js/app.js, with focus on the message
    body = response.content.decode()
    assert "<html" not in body
    assert body.lstrip().startswith('<section class="card" id="publish-form-section"')
    assert 'role="alert" data-publish-error>' in body
    assert "Publish at exact size" in body  # the form stays, to choose another format
    assert not OutboxMessage.objects.exists()


def test_a_format_of_another_campaign_is_a_plain_422(approved, marketer, workspace):
    elsewhere = f.CampaignFormatFactory(campaign=f.CampaignFactory(workspace=workspace))
    response = client_for(marketer).post(page_url(approved), {"target_format": elsewhere.pk})
    assert response.status_code == 422
    assert "Choose one of this campaign&#x27;s formats." in response.content.decode()


def test_people_who_cannot_publish_see_why_and_outsiders_get_404(approved, workspace, compliance, ad_format):
    page = client_for(compliance).get(page_url(approved)).content.decode()
    assert "Only a marketer, brand reviewer or admin can publish images in Acme." in page
    assert "Publish at exact size" not in page
    assert client_for(compliance).post(page_url(approved), {"target_format": ad_format.pk}).status_code == 403
    outsider = member(f.WorkspaceFactory(slug="other"), "olga", Role.MARKETER)
    assert client_for(outsider).get(page_url(approved)).status_code == 404
    assert (
        client_for(outsider).get(reverse("publishing:variant_publish", args=["other", approved.pk])).status_code == 404
    )


def _page_queries(client, variant) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(page_url(variant)).status_code == 200
    return len(ctx.captured_queries)


def test_the_page_costs_the_same_queries_however_many_formats_and_publications(approved, marketer, ad_format, campaign):
    client = client_for(marketer)
    Destination.objects.create(workspace=campaign.workspace, campaign=campaign, name="CDN", bucket="cdn")
    services.publication_create(actor=marketer, variant=approved, target_format=ad_format)
    client.get(page_url(approved))  # warm the per-session lookups
    few = _page_queries(client, approved)
    assert few <= 20
    for width, height in ((600, 314), (2400, 1256), (300, 157)):
        fmt = f.CampaignFormatFactory(campaign=campaign, width=width, height=height)
        services.publication_create(actor=marketer, variant=approved, target_format=fmt)
    Destination.objects.create(workspace=campaign.workspace, campaign=campaign, name="Archive", bucket="archive")
    assert Publication.objects.count() == 4
    assert _page_queries(client, approved) == few


def test_the_render_is_recorded_in_the_outbox_under_the_tasks_name():
    assert tasks.publication_render.name == starting.RENDER_TASK


# --- the broker is down (issue 10): never a 500, never a lost render -------------------------------------

BROKER_DOWN = KombuOperationalError("Error 111 connecting to redis://127.0.0.1:6379/3. Connection refused.")


def broker_down():
    return mock.patch.object(outbox_services, "task_send", side_effect=BROKER_DOWN)


@pytest.mark.django_db(transaction=True)
def test_publishing_with_the_broker_down_answers_with_the_notice_and_keeps_the_render(
    workspace, marketer, reviewer, campaign, ad_format
):
    variant = approve(
        variant_for(workspace, creator=marketer, campaign=campaign, width=1200, height=628), marketer, reviewer
    )
    client = client_for(marketer)
    with broker_down():
        response = client.post(page_url(variant), {"target_format": ad_format.pk})
    assert response.status_code == 302
    assert starting.QUEUE_UNREACHABLE in [str(m) for m in get_messages(response.wsgi_request)]
    row = OutboxMessage.objects.get(task_name=starting.RENDER_TASK)
    assert row.args == [variant.pk, ad_format.pk, marketer.pk]
    assert row.published_at is None  # the sweeper sends it when the broker is back
    assert row.workspace_id == workspace.pk
    assert not Publication.objects.exists()
    # The broker is back: the sweeper's re-send renders it (eager Celery here).
    OutboxMessage.objects.filter(pk=row.pk).update(created_at=row.created_at.replace(year=2000))
    outbox_services.outbox_republish()
    assert Publication.objects.get().status == PublicationStatus.PUBLISHED


@pytest.mark.django_db(transaction=True)
def test_a_retry_with_the_broker_down_stays_publishing_with_its_render_in_the_outbox(
    workspace, marketer, reviewer, campaign, ad_format
):
    variant = approve(
        variant_for(workspace, creator=marketer, campaign=campaign, width=1200, height=628), marketer, reviewer
    )
    failed = Publication.objects.create(
        workspace=workspace,
        variant=variant,
        target_format=ad_format,
        review=variant.reviews.get(),
        width=1200,
        height=628,
        sha256="",
        source_sha256=variant.sha256,
        published_by=marketer,
        status=PublicationStatus.FAILED,
        failure_message="The destination could not be reached.",
    )
    with broker_down():
        response = client_for(marketer).post(reverse("publishing:publication_retry", args=["acme", failed.pk]))
    assert response.status_code == 302
    assert starting.QUEUE_UNREACHABLE in [str(m) for m in get_messages(response.wsgi_request)]
    failed.refresh_from_db()
    assert failed.status == PublicationStatus.PUBLISHING  # committed with its outbox row
    assert OutboxMessage.objects.get(task_name=starting.RENDER_TASK).published_at is None
