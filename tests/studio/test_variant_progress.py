"""After an edit or a localisation the marketer stays with the work (issue 14): the variant page they started
from shows the new jobs' progress in place, a single edit lands on its new version once stored, and the page
paints on the large image with reference images shown as thumbnails."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from studio.generation.models import GenerationJob, JobStatus, Operation, VariantStatus
from tests import factories as f


@pytest.fixture
def variant(campaign, marketer, offline_deployment):
    return f.VariantFactory(
        job__draft_version__draft__campaign=campaign,
        job__draft_version__locale_copy={"en": "Hello", "ja": "こんにちは", "hi": "नमस्ते"},
        job__deployment=offline_deployment,
        created_by=marketer,
        width=200,
        height=100,
    )


def _job_from(variant, **kwargs) -> GenerationJob:
    defaults = {
        "draft_version": variant.job.draft_version,
        "deployment": variant.job.deployment,
        "base_variant": variant,
        "operation": Operation.EDIT,
        "instruction": "Warmer light",
        "status": JobStatus.RUNNING,
        "n": 1,
    }
    return f.GenerationJobFactory(**{**defaults, **kwargs})


def _progress(client, variant, ids: str):
    url = reverse("studio:variant_progress", args=[variant.workspace.slug, variant.pk])
    response = client.get(url, {"started": ids})
    assert response.status_code == 200
    return response.content.decode()


def _page(client, variant, **params) -> str:
    response = client.get(reverse("studio:variant", args=[variant.workspace.slug, variant.pk]), params)
    assert response.status_code == 200
    return response.content.decode()


def test_an_edit_returns_to_its_variant_with_the_progress_in_place(
    client, marketer, variant, django_capture_on_commit_callbacks
):
    client.force_login(marketer)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            reverse("studio:variant_edit", args=[variant.workspace.slug, variant.pk]), {"instruction": "Warmer light"}
        )
    job = GenerationJob.objects.get(base_variant=variant)
    page_url = reverse("studio:variant", args=[variant.workspace.slug, variant.pk])
    assert response.status_code == 302
    assert response["Location"] == f"{page_url}?started={job.pk}#edit-progress"

    body = _page(client, variant, started=str(job.pk))
    assert "the new version opens here as soon as it is ready" in body
    card = re.search(r'<section id="edit-progress".*?</section>', body, re.S).group(0)
    assert "Your edit" in card
    assert 'tabindex="-1"' in card, "the card can take focus on arrival"
    progress_url = reverse("studio:variant_progress", args=[variant.workspace.slug, variant.pk])
    assert f'hx-get="{progress_url}?started={job.pk}&amp;poll=1"' in card
    assert "data-land-url" not in card, "nothing to land on yet"
    assert '<p id="progress-announcer" class="visually-hidden" role="status" aria-live="polite">' in body


def test_an_htmx_edit_gets_a_client_redirect_to_the_same_place(
    client, marketer, variant, django_capture_on_commit_callbacks
):
    client.force_login(marketer)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            reverse("studio:variant_edit", args=[variant.workspace.slug, variant.pk]),
            {"instruction": "Warmer light"},
            HTTP_HX_REQUEST="true",
        )
    job = GenerationJob.objects.get(base_variant=variant)
    assert response["HX-Redirect"].endswith(f"/variants/{variant.pk}/?started={job.pk}#edit-progress")


def test_a_stored_edit_lands_on_its_new_version(client, marketer, variant):
    job = _job_from(variant, status=JobStatus.SUCCEEDED)
    child = f.VariantFactory(job=job, created_by=marketer, status=VariantStatus.READY)
    client.force_login(marketer)
    body = _progress(client, variant, str(job.pk))
    child_url = reverse("studio:variant", args=[variant.workspace.slug, child.pk])
    assert f'data-land-url="{child_url}#variant-title"' in body
    assert f"Open version #{child.pk}" in body
    assert child.thumbnail_src in body
    assert "hx-get" not in body, "finished and through the safety check: polling stops"


def test_a_result_still_in_its_safety_check_keeps_the_card_polling(client, marketer, variant):
    job = _job_from(variant, status=JobStatus.SUCCEEDED)
    f.VariantFactory(job=job, created_by=marketer, status=VariantStatus.SAFETY_PENDING)
    client.force_login(marketer)
    body = _progress(client, variant, str(job.pk))
    assert "data-land-url" in body, "stored: the page may move to it"
    assert "hx-get" in body
    assert "Safety check pending" in body


def test_localised_versions_land_one_by_one_in_place(client, marketer, variant):
    done = _job_from(variant, operation=Operation.LOCALISE, locale="ja", status=JobStatus.SUCCEEDED)
    running = _job_from(variant, operation=Operation.LOCALISE, locale="hi", status=JobStatus.RUNNING, progress=30)
    landed = f.VariantFactory(job=done, created_by=marketer, locale="ja")
    client.force_login(marketer)
    body = _progress(client, variant, f"{done.pk},{running.pk}")
    assert "Localised versions you started" in body
    assert f"Open version #{landed.pk} (ja)" in body
    assert f'<progress id="edit-progress-{running.pk}"' in body
    assert "data-land-url" not in body, "a set of localisations stays on the master's page"
    assert "hx-get" in body


def test_a_failed_edit_says_why_in_place(client, marketer, variant):
    job = _job_from(variant, status=JobStatus.FAILED, error_message="The service refused the prompt.")
    client.force_login(marketer)
    body = _progress(client, variant, str(job.pk))
    assert "The service refused the prompt." in body
    assert "data-job-failed" in body
    assert "hx-get" not in body


def test_jobs_of_another_variant_or_workspace_are_not_shown(client, marketer, variant):
    other = f.VariantFactory(job=variant.job, created_by=marketer)
    elsewhere = _job_from(other, instruction="Someone else's edit")
    foreign = f.GenerationJobFactory(base_variant=f.VariantFactory(), instruction="Foreign", status=JobStatus.RUNNING)
    client.force_login(marketer)
    body = _page(client, variant, started=f"{elsewhere.pk},{foreign.pk},abc,")
    assert 'id="edit-progress"' not in body
    assert 'id="edit-progress"' not in _page(client, variant)


def test_a_localisation_returns_to_the_master_with_its_jobs(
    client, marketer, variant, django_capture_on_commit_callbacks
):
    variant.status = VariantStatus.APPROVED
    variant.save(update_fields=["status"])
    client.force_login(marketer)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            reverse("studio:variant_localise", args=[variant.workspace.slug, variant.pk]), {"locales": ["ja", "hi"]}
        )
    ids = ",".join(
        str(pk) for pk in GenerationJob.objects.filter(base_variant=variant).order_by("pk").values_list("pk", flat=True)
    )
    assert response.status_code == 302
    assert response["Location"].endswith(f"/variants/{variant.pk}/?started={ids}#edit-progress")
    assert len(ids.split(",")) == 2


def test_the_painter_is_on_the_large_image_and_joins_the_edit_form(client, marketer, variant):
    client.force_login(marketer)
    body = _page(client, variant)
    main = body[body.index('<div class="stack es-variant-main">') : body.index("<aside")]
    assert "data-mask-painter" in main, "the painter is in the main column, not the sidebar"
    assert 'data-width="200" data-height="100"' in main
    assert '<canvas class="es-painter-canvas" width="200" height="100"' in main
    assert '<input type="hidden" name="mask" value="" form="edit-form" data-mask-input>' in main
    assert 'id="edit-form"' in body
    assert 'data-mask-open="mask-' in body, "the edit form opens the painter"
    # One stylesheet for the whole app (the edit studio's rules are a section of app.css).
    stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', body)
    assert len(stylesheets) == 1
    assert stylesheets[0].endswith("css/app.css")


def test_reference_choices_show_thumbnails(client, marketer, variant, workspace):
    approved = f.VariantFactory(job__workspace=workspace, status=VariantStatus.APPROVED)
    client.force_login(marketer)
    body = _page(client, variant)
    thumb = reverse("studio:variant_thumbnail", args=[workspace.slug, approved.pk])
    choice = re.search(r'<label class="es-ref-choice"[^>]*>.*?</label>', body, re.S).group(0)
    assert f'value="{approved.pk}"' in choice
    assert f'<img src="{thumb}"' in choice
    assert 'data-reference-upload data-max="' in body
    assert "data-reference-previews" in body


def test_the_progress_fragment_costs_the_same_queries_for_more_results(client, marketer, variant):
    client.force_login(marketer)

    def queries_for(n: int) -> int:
        jobs = [_job_from(variant, operation=Operation.LOCALISE, status=JobStatus.SUCCEEDED) for _ in range(n)]
        for job in jobs:
            f.VariantFactory(job=job, created_by=marketer)
        with CaptureQueriesContext(connection) as ctx:
            _progress(client, variant, ",".join(str(job.pk) for job in jobs))
        return len(ctx.captured_queries)

    assert queries_for(1) == queries_for(4)


def test_a_queued_edit_says_since_when_it_waits_for_a_worker(client, marketer, variant):
    client.force_login(marketer)
    job = _job_from(variant, status=JobStatus.QUEUED)
    body = _progress(client, variant, str(job.pk))
    assert f"Waiting for a worker since {timezone.localtime(job.created_at):%H:%M}…" in body


def test_an_image_in_its_safety_check_is_polled_with_a_back_off_not_every_two_seconds(client, marketer, variant):
    """A check that is never answered waits 20 minutes for the sweeper: the page must not ask every 2 s."""
    client.force_login(marketer)
    type(variant).objects.filter(pk=variant.pk).update(status=VariantStatus.SAFETY_PENDING)
    variant.refresh_from_db()
    first = _page(client, variant)
    notice = re.search(r'<div[^>]*id="variant-pending"[^>]*>', first).group(0)
    assert 'hx-trigger="load delay:1s"' in notice
    assert "pending_poll=1" in notice
    assert "every 2s" not in first
    assert f"(since {timezone.localtime(variant.created_at):%H:%M})" in first
    later = _page(client, variant, pending_poll="20")
    notice = re.search(r'<div[^>]*id="variant-pending"[^>]*>', later).group(0)
    assert 'hx-trigger="load delay:15s"' in notice
    assert "pending_poll=21" in notice
    for odd in ("99999999999999999999", "²", "-3"):
        assert 'hx-trigger="load delay:1s"' in _page(client, variant, pending_poll=odd)


def test_poll_counters_that_are_not_numbers_start_over(client, marketer, variant):
    client.force_login(marketer)
    job = _job_from(variant)
    for url in (
        reverse("studio:variant_progress", args=[variant.workspace.slug, variant.pk]) + f"?started={job.pk}&poll=²",
        reverse("studio:job_status", args=[variant.workspace.slug, job.pk]) + "?poll=²",
    ):
        assert client.get(url).status_code == 200
