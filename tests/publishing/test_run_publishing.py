"""Publishing a production run: approved cells publish to their formats in one action; cells without an
approved image and formats an image was not composed for are listed with the reason; the publish form
previews each format's crop and safe zone; the service refuses a crop beyond the aspect tolerance."""

from __future__ import annotations

import hashlib
import io
from unittest import mock

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from kombu.exceptions import OperationalError
from PIL import Image

from approvals.publishing import run_publishing, services, tasks
from approvals.publishing.models import Publication
from approvals.publishing.selectors import FAILED_KIND
from approvals.publishing.starting import RENDER_TASK
from approvals.reviews import services as review_services
from approvals.reviews.models import StageKind
from studio.core.models import AuditEvent, Role
from studio.core.notifications import notification_send
from studio.core.outbox import services as outbox_services
from studio.core.outbox.models import OutboxMessage
from studio.core.permissions import RoleRequired
from studio.generation.models import VariantStatus
from tests import factories as f
from tests.approvals.factories_reviews import member, variant_for
from tests.reviews.run_fixtures import make_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def formats(campaign):
    return [
        f.CampaignFormatFactory(campaign=campaign, name="LinkedIn ad", width=1200, height=628),
        f.CampaignFormatFactory(campaign=campaign, name="Instagram Story", width=1080, height=1920),
    ]


def approve(variant, marketer, reviewer):
    review = review_services.variant_submit(actor=marketer, variant=variant)
    review_services.review_decide(
        actor=reviewer, stage=review.stages.get(kind=StageKind.BRAND), outcome="approve", expected_sha256=variant.sha256
    )
    variant.refresh_from_db()
    return variant


@pytest.fixture
def run_fixture(workspace, marketer, reviewer, campaign, formats):
    """2 formats x 2 locales: ad/en and story/en approved, ad/ja submitted only, story/ja not generated."""
    fixture = make_run(
        workspace=workspace,
        creator=marketer,
        campaign=campaign,
        formats=formats,
        empty_cells=(("Instagram Story", "ja"),),
    )
    approve(fixture.cell("LinkedIn ad", "en").job.variants.get(), marketer, reviewer)
    approve(fixture.cell("Instagram Story", "en").job.variants.get(), marketer, reviewer)
    review_services.variant_submit(actor=marketer, variant=fixture.cell("LinkedIn ad", "ja").job.variants.get())
    return fixture


def test_plan_lists_every_cell_without_an_approved_image(run_fixture):
    plan = run_publishing.run_publication_plan(run=run_fixture.run)
    assert [(t.cell.target_format.name, t.cell.locale) for t in plan.ready] == [
        ("Instagram Story", "en"),
        ("LinkedIn ad", "en"),
    ]
    missing = {(m.cell.target_format.name, m.cell.locale): m.reason for m in plan.missing}
    assert missing == {
        ("Instagram Story", "ja"): "No image: the cell is queued.",
        ("LinkedIn ad", "ja"): "No approved image for this format (1 in review).",
    }


def test_publishing_a_run_publishes_each_approved_cell_at_its_format(
    run_fixture, marketer, workspace, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        started = run_publishing.run_publish(actor=marketer, run=run_fixture.run)
    assert len(started.queued) == 2
    assert len(started.missing) == 2
    sizes = sorted((p.target_format.name, p.width, p.height) for p in Publication.objects.all())
    assert sizes == [("Instagram Story", 1080, 1920), ("LinkedIn ad", 1200, 628)]
    for publication in Publication.objects.all():
        with Image.open(default_storage.open(publication.file.name, "rb")) as image:
            assert image.size == (publication.width, publication.height)
        assert publication.variant.status == VariantStatus.PUBLISHED
    event = AuditEvent.objects.get(action="approvals.publication.run_requested")
    assert event.data["queued_count"] == 2
    assert event.data["missing_count"] == 2
    assert {m["reason"] for m in event.data["missing"]} == {
        "No image: the cell is queued.",
        "No approved image for this format (1 in review).",
    }
    progress = run_publishing.run_publish_progress(run=run_fixture.run, user=marketer)
    assert (progress.total, progress.published, progress.waiting, progress.missing) == (2, 2, 0, 2)
    # Again: nothing is queued twice.
    with django_capture_on_commit_callbacks(execute=True):
        again = run_publishing.run_publish(actor=marketer, run=run_fixture.run)
    assert again.queued == []
    assert len(again.already) == 2
    assert Publication.objects.count() == 2


def test_a_format_the_image_was_not_composed_for_is_refused_and_listed(
    workspace, marketer, reviewer, campaign, formats, django_capture_on_commit_callbacks
):
    fixture = make_run(workspace=workspace, creator=marketer, campaign=campaign, formats=formats[:1], locales=("en",))
    variant = approve(fixture.variants()[0], marketer, reviewer)
    # The same cell's image, but the cell's format changed to a Story: 1.91:1 cannot become 9:16.
    fixture.cells[0].target_format = formats[1]
    fixture.cells[0].save(update_fields=["target_format"])
    plan = run_publishing.run_publication_plan(run=fixture.run)
    assert plan.ready == []
    assert plan.refused[0].refusal == (
        f"This image was composed for {variant.size}; a 1080x1920 Instagram Story needs its own generation "
        "— launch a run cell for that format."
    )
    with django_capture_on_commit_callbacks(execute=True):
        started = run_publishing.run_publish(actor=marketer, run=fixture.run)
    assert started.queued == []
    assert len(started.refused) == 1
    assert not Publication.objects.exists()
    assert AuditEvent.objects.get(action="approvals.publication.run_requested").data["refused_count"] == 1


def test_only_publishers_publish_a_run(run_fixture, workspace, compliance):
    with pytest.raises(RoleRequired):
        run_publishing.run_publish(actor=compliance, run=run_fixture.run)
    assert not Publication.objects.exists()


def test_the_publish_service_refuses_beyond_the_tolerance_and_records_it(workspace, marketer, reviewer, campaign):
    variant = approve(
        variant_for(workspace, creator=marketer, campaign=campaign, width=152, height=80), marketer, reviewer
    )  # 1216x640's shape
    story = f.CampaignFormatFactory(campaign=campaign, name="Story", width=1080, height=1920)
    with pytest.raises(services.NotPublishable, match="composed for 152x80; a 1080x1920 Story needs its own"):
        services.publication_request(actor=marketer, variant=variant, target_format=story)
    with pytest.raises(services.NotPublishable, match="needs its own generation"):
        services.publication_create(actor=marketer, variant=variant, target_format=story)
    assert not Publication.objects.exists()
    assert AuditEvent.objects.filter(action="approvals.publication.refused").count() == 2


def test_the_rendition_trims_around_the_focal_point(workspace, marketer, reviewer, campaign):
    # A 1.1:1 image, red on its left half, published square with the focal point on the left edge.
    image = Image.new("RGB", (110, 100), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 55, 100))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    variant = variant_for(workspace, creator=marketer, campaign=campaign, width=110, height=100)
    variant.image.save("v.png", ContentFile(buffer.getvalue()), save=False)
    variant.sha256 = hashlib.sha256(buffer.getvalue()).hexdigest()
    variant.focal_x, variant.focal_y = 0.0, 0.5
    variant.save()
    approve(variant, marketer, reviewer)
    square = f.CampaignFormatFactory(campaign=campaign, name="Square", width=100, height=100)
    publication = services.publication_create(actor=marketer, variant=variant, target_format=square)
    with Image.open(default_storage.open(publication.file.name, "rb")) as out:
        red, _g, blue = out.convert("RGB").getpixel((52, 50))
    assert red > 200  # with the centre crop this column would be blue (the crop would start at x=5)
    assert blue < 60
    assert publication.rendition_notes[0] == "Trimmed 110x100 to 100x100 around the focal point (0% across, 50% down)."


# --- pages ------------------------------------------------------------------------------------------


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_run_publish_page_lists_missing_and_publishes_with_progress(
    run_fixture, workspace, marketer, django_capture_on_commit_callbacks
):
    url = reverse("publishing:run_publish", args=[workspace.slug, run_fixture.run.pk])
    client = login(marketer)
    page = client.get(url).content.decode()
    assert "Publish 2 approved images" in page
    assert "Cells with nothing to publish (2)" in page
    assert "No approved image for this format (1 in review)." in page
    assert page.count("data-rendition-preview=") == 2  # each approved image's crop and safe zone, before publishing
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(url)
    assert done.status_code == 200
    body = done.content.decode()
    assert "Queued 2 renditions" in body
    assert "0 of 2 published · 2 rendering…" in body  # the worker renders after the request committed
    assert 'hx-trigger="every 2s"' in body  # so the progress polls
    assert Publication.objects.count() == 2
    partial = client.get(url + "?progress=1", HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    assert "2 of 2 published" in partial.content.decode()
    assert 'hx-trigger="every 2s"' not in partial.content.decode()  # done: polling stops


def test_the_run_publish_page_is_behind_the_workspace_wall(run_fixture, workspace):
    other = f.WorkspaceFactory(slug="other")
    outsider = member(other, "olga", Role.MARKETER)
    client = login(outsider)
    for slug in (workspace.slug, other.slug):
        url = reverse("publishing:run_publish", args=[slug, run_fixture.run.pk])
        assert client.get(url).status_code == 404
        assert client.post(url).status_code == 404
    assert not Publication.objects.exists()


def test_the_publish_form_previews_each_format_and_says_which_are_refused(
    workspace, marketer, reviewer, campaign, formats
):
    variant = approve(
        variant_for(workspace, creator=marketer, campaign=campaign, width=608, height=318), marketer, reviewer
    )
    review = variant.reviews.get()
    page = login(marketer).get(reverse("approvals:review_detail", args=[workspace.slug, review.pk])).content.decode()
    assert "Preview each format before it goes live" in page
    assert page.count("data-rendition-preview=") == 2
    assert "needs its own generation" in page  # the Story
    assert "Keep text and logos out of the top 14%" not in page  # the refused Story shows no safe zone
    ad = formats[0]
    assert f'data-rendition-preview="{ad.pk}"' in page
    assert 'stroke-dasharray="6 4"' in page  # the ad's safe zone is drawn
    assert 'fill-rule="evenodd"' in page  # the area trimmed away is dimmed


def test_progress_counts_a_render_the_worker_gave_up_on(run_fixture, marketer):
    target = run_publishing.run_publication_plan(run=run_fixture.run).ready[0]
    notification_send(
        user=marketer,
        workspace=run_fixture.run.workspace,
        kind=FAILED_KIND,
        text="Publishing failed",
        url=tasks.progress_url(variant=target.variant, format_id=target.target_format.pk),
    )
    progress = run_publishing.run_publish_progress(run=run_fixture.run, user=marketer)
    assert (progress.total, progress.published, progress.failed, progress.waiting) == (2, 0, 1, 1)


def test_the_publish_request_answers_before_the_per_image_checks_which_a_task_does(
    run_fixture, workspace, marketer, django_capture_on_commit_callbacks
):
    url = reverse("publishing:run_publish", args=[workspace.slug, run_fixture.run.pk])
    client = login(marketer)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(url)
    assert response.status_code == 200
    assert "Queued 2 renditions" in response.content.decode()
    # Nothing checked, recorded or rendered in the request: one task waits in the outbox.
    assert not AuditEvent.objects.filter(action="approvals.publication.run_requested").exists()
    assert not Publication.objects.exists()
    message = OutboxMessage.objects.get(task_name=run_publishing.RUN_PUBLISH_TASK)
    assert message.args == [run_fixture.run.pk, marketer.pk]
    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()  # the outbox publishes; the (eager) task checks each image and queues its render
    assert AuditEvent.objects.get(action="approvals.publication.run_requested").data["queued_count"] == 2
    assert Publication.objects.count() == 2
    progress = run_publishing.run_publish_progress(run=run_fixture.run, user=marketer)
    assert (progress.published, progress.waiting) == (2, 0)


def test_a_runs_renders_wait_in_the_outbox_when_the_broker_is_down(
    run_fixture, marketer, workspace, django_capture_on_commit_callbacks
):
    down = mock.patch.object(outbox_services, "task_send", side_effect=OperationalError("Connection refused"))
    with down, django_capture_on_commit_callbacks(execute=True):
        started = run_publishing.run_publish_execute(run=run_fixture.run, actor=marketer)  # the task's body
    assert len(started.queued) == 2  # no exception after the commit: the renders are recorded, not lost
    rows = OutboxMessage.objects.filter(task_name=RENDER_TASK)
    assert sorted(row.args[0] for row in rows) == sorted(t.variant.pk for t in started.queued)
    assert all(row.published_at is None and row.workspace_id == workspace.pk for row in rows)
    assert not Publication.objects.exists()
    assert AuditEvent.objects.get(action="approvals.publication.run_requested").data["queued_count"] == 2
