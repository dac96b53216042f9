"""Studio pages: what a marketer sees, bad input answered in words, 404 across workspaces, CSRF on."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from studio.generation import services
from studio.generation.models import GenerationJob
from tests import factories as f


@pytest.fixture
def client_for():
    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def draft(marketer, campaign, ad_format, offline_deployment):
    return services.draft_create(actor=marketer, campaign=campaign, title="Hero", text="A lemon on a table")


def test_login_required(client, workspace):
    response = client.get(reverse("studio:workspace", args=[workspace.slug]))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_campaign_page_lists_drafts_and_creates_one(client_for, marketer, campaign, workspace):
    client = client_for(marketer)
    url = reverse("studio:campaign", args=[workspace.slug, campaign.slug])
    assert b"No drafts yet" in client.get(url).content
    response = client.post(url, {"title": "Spring hero", "text": "Lemons in sunlight", "locale_copy": "ja: 春"})
    assert response.status_code == 302
    assert b"Spring hero" in client.get(url).content


def test_empty_prompt_is_explained(client_for, marketer, campaign, workspace):
    response = client_for(marketer).post(
        reverse("studio:campaign", args=[workspace.slug, campaign.slug]), {"title": "x", "text": ""}
    )
    assert response.status_code == 400
    assert b"Write a prompt" in response.content


def test_bad_locale_copy_line_is_explained(client_for, marketer, campaign, workspace):
    response = client_for(marketer).post(
        reverse("studio:campaign", args=[workspace.slug, campaign.slug]),
        {"title": "x", "text": "y", "locale_copy": "no colon here"},
    )
    assert response.status_code == 400
    assert b"locale: text" in response.content


def test_draft_page_shows_plan_and_estimate(client_for, marketer, draft, workspace, ad_format):
    client = client_for(marketer)
    page = client.get(reverse("studio:draft", args=[workspace.slug, draft.pk]))
    assert page.status_code == 200
    deployment = workspace.deployments.get()
    preview = client.get(
        reverse("studio:generate_preview", args=[workspace.slug, draft.pk]),
        {
            "deployment": deployment.pk,
            "target_format": ad_format.pk,
            "n": 4,
            "quality": "medium",
            "output_format": "png",
            "route": "explicit",
        },
        HTTP_HX_REQUEST="true",
    )
    assert preview.status_code == 200
    body = preview.content.decode()
    assert "1200x628" in body
    assert "Estimated cost" in body
    assert "Offline renderer" in body


@pytest.mark.parametrize(
    ("size", "message"),
    [
        ("", "Choose a format or type a size"),
        ("big", "width x height"),
        ("0x100", "too small"),
        ("99999x100", "too large"),
    ],
)
def test_bad_sizes_get_clear_errors_not_500(client_for, marketer, draft, workspace, size, message):
    deployment = workspace.deployments.get()
    response = client_for(marketer).post(
        reverse("studio:generate", args=[workspace.slug, draft.pk]),
        {
            "deployment": deployment.pk,
            "target_format": "",
            "custom_size": size,
            "n": 1,
            "quality": "low",
            "output_format": "png",
            "route": "explicit",
        },
    )
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not GenerationJob.objects.exists()


def test_unknown_format_is_refused(client_for, marketer, draft, workspace):
    deployment = workspace.deployments.get()
    response = client_for(marketer).post(
        reverse("studio:generate", args=[workspace.slug, draft.pk]),
        {
            "deployment": deployment.pk,
            "target_format": "999999",
            "n": 1,
            "quality": "low",
            "output_format": "png",
            "route": "explicit",
        },
    )
    assert response.status_code == 422
    assert "Select a valid choice" in response.content.decode()


def test_generate_via_htmx_returns_the_job_card(
    client_for, marketer, draft, workspace, ad_format, django_capture_on_commit_callbacks
):
    deployment = workspace.deployments.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(marketer).post(
            reverse("studio:generate", args=[workspace.slug, draft.pk]),
            {
                "deployment": deployment.pk,
                "target_format": ad_format.pk,
                "n": 2,
                "quality": "low",
                "output_format": "png",
                "route": "explicit",
            },
            HTTP_HX_REQUEST="true",
        )
    assert response.status_code == 200
    assert 'id="job-' in response.content.decode()
    job = GenerationJob.objects.get()
    status = client_for(marketer).get(
        reverse("studio:job_status", args=[workspace.slug, job.pk]), HTTP_HX_REQUEST="true"
    )
    assert status.content.decode().count('class="thumb"') == 2


def test_objects_of_another_workspace_are_404(client_for, draft, workspace):
    other = f.WorkspaceFactory(slug="other")
    outsider = f.UserFactory(username="outsider")
    f.MembershipFactory(user=outsider, workspace=other, role="marketer")
    client = client_for(outsider)
    assert client.get(reverse("studio:workspace", args=[workspace.slug])).status_code == 404
    assert client.get(reverse("studio:draft", args=[workspace.slug, draft.pk])).status_code == 404
    # Same answer when the object exists but belongs elsewhere, and when it does not exist at all.
    assert client.get(reverse("studio:draft", args=[other.slug, draft.pk])).status_code == 404
    assert client.get(reverse("studio:draft", args=[other.slug, 987654])).status_code == 404


def test_csrf_is_enforced(marketer, campaign, workspace):
    client = Client(enforce_csrf_checks=True)
    client.force_login(marketer)
    response = client.post(
        reverse("studio:campaign", args=[workspace.slug, campaign.slug]), {"title": "x", "text": "y"}
    )
    assert response.status_code == 403


def test_reviewer_cannot_generate(client_for, reviewer, draft, workspace, ad_format):
    deployment = workspace.deployments.get()
    response = client_for(reviewer).post(
        reverse("studio:generate", args=[workspace.slug, draft.pk]),
        {
            "deployment": deployment.pk,
            "target_format": ad_format.pk,
            "n": 1,
            "quality": "low",
            "output_format": "png",
            "route": "explicit",
        },
    )
    assert response.status_code == 422
    assert "Only a marketer can generate images" in response.content.decode()


def test_draft_page_query_count_is_constant(
    client_for, marketer, draft, workspace, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    client = client_for(marketer)
    url = reverse("studio:draft", args=[workspace.slug, draft.pk])
    deployment = workspace.deployments.get()
    version = draft.versions.get()

    def add_jobs(count):
        for _ in range(count):
            with django_capture_on_commit_callbacks(execute=True):
                services.job_launch(
                    actor=marketer,
                    version=version,
                    request=services.LaunchRequest(
                        deployment=deployment, target_width=1200, target_height=628, n=2, quality="low"
                    ),
                )

    add_jobs(1)
    client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(url)
    add_jobs(4)
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many.captured_queries) == len(few.captured_queries)


def test_campaign_drafts_are_paginated(client_for, marketer, campaign, workspace):
    for number in range(30):
        services.draft_create(actor=marketer, campaign=campaign, title=f"Draft number {number:02d}", text="x")
    client = client_for(marketer)
    url = reverse("studio:campaign", args=[workspace.slug, campaign.slug])
    first = client.get(url).content.decode()
    assert first.count("Draft number") == 25
    assert "Showing 1–25 of 30" in first
    second = client.get(url, {"page": 2}).content.decode()
    assert second.count("Draft number") == 5
    assert client.get(url, {"page": "nonsense"}).status_code == 200


def test_preview_says_which_scripts_the_offline_renderer_cannot_draw(
    client_for, marketer, draft, workspace, ad_format, monkeypatch
):
    monkeypatch.setattr("studio.lib.providers.offline.offline_missing_scripts", lambda: ["CJK", "Devanagari"])
    deployment = workspace.deployments.get()
    preview = client_for(marketer).get(
        reverse("studio:generate_preview", args=[workspace.slug, draft.pk]),
        {
            "deployment": deployment.pk,
            "target_format": ad_format.pk,
            "n": 1,
            "quality": "low",
            "output_format": "png",
            "route": "explicit",
        },
        HTTP_HX_REQUEST="true",
    )
    assert "cannot draw" in preview.content.decode()
