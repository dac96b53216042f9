"""The version tree page (issue 14): one card per job, its cost once however many images it made, and the
prompt as written (not the brand style every prompt starts with)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from studio.generation import selectors, services
from studio.generation.models import GenerationJob, JobStatus


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    def call(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            job = service(**kwargs)
        job.refresh_from_db()
        assert job.status == JobStatus.SUCCEEDED, job.error_message
        return job

    return call


@pytest.fixture
def tree(run, marketer, campaign, workspace, offline_deployment):
    workspace.style_guide = "Warm natural light, brand colours coral and teal."
    workspace.save(update_fields=["style_guide"])
    draft = services.draft_create(actor=marketer, campaign=campaign, title="Tree", text="A glass of lemon soda")
    request = services.LaunchRequest(deployment=offline_deployment, target_width=512, target_height=512, n=3)
    root = run(services.job_launch, actor=marketer, version=draft.versions.get(), request=request)
    first = root.variants.order_by("index").first()
    chain = [first]
    for step in range(5):
        edit = run(services.variant_edit, actor=marketer, variant=chain[-1], instruction=f"Step {step}")
        chain.append(edit.variants.get())
    return draft, root, chain


def _page(client, marketer, workspace, draft) -> str:
    client.force_login(marketer)
    response = client.get(reverse("studio:draft_tree", args=[workspace.slug, draft.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_a_jobs_cost_is_shown_once_for_all_its_images(client, marketer, workspace, tree):
    draft, root, chain = tree
    body = _page(client, marketer, workspace, draft)
    jobs = GenerationJob.objects.filter(draft_version__draft=draft)
    # One cost per job (the root's 3 images share one), not one per image.
    assert len(re.findall(r"\bcost \$", body)) == jobs.count() == 6
    assert "for all 3" in body
    for variant in root.variants.all():
        assert body.count(f"<strong>#{variant.pk}</strong>") == 1


def test_prompt_summary_is_the_prompt_not_the_brand_style(client, marketer, workspace, tree):
    draft, root, _ = tree
    assert root.prompt.startswith("Brand style:")  # what was sent starts with the style...
    body = _page(client, marketer, workspace, draft)
    assert "Brand style" not in body  # ...what the tree summarises is what the marketer wrote
    assert '<p class="tree-summary">A glass of lemon soda</p>' in body
    assert '<p class="tree-summary">Step 4</p>' in body


def test_edits_nest_under_the_job_of_their_base_and_name_it(client, marketer, workspace, tree):
    draft, root, chain = tree
    jobs = selectors.tree_by_job(selectors.draft_tree(draft=draft))
    assert [node["job"] for node in jobs] == [root]
    assert len(jobs[0]["variants"]) == 3
    node, depth = jobs[0], 0
    while node["children"]:
        (node,) = node["children"]
        depth += 1
        assert node["base"] == chain[depth - 1]
        assert node["depth"] == depth
    assert depth == 5
    body = _page(client, marketer, workspace, draft)
    for parent in chain[:-1]:
        assert f'from <a href="{reverse("studio:variant", args=[workspace.slug, parent.pk])}">#{parent.pk}</a>' in body
