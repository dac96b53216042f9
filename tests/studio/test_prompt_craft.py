"""Prompt craft: workspace templates on the New draft form, version diffs, token usage on the job card."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from studio.core.models import Workspace
from studio.generation import selectors, services
from studio.generation.models import PromptDraft, PromptTemplate
from tests import factories as f


@pytest.fixture
def template(workspace):
    return PromptTemplate.objects.create(
        workspace=workspace,
        name="Product hero",
        text="A {product} on a marble counter.",
        style_preset="Photographic, soft morning light.",
    )


@pytest.fixture
def campaign_url(workspace, campaign):
    return reverse("studio:campaign", args=[workspace.slug, campaign.slug])


# --- Templates on the New draft form ---------------------------------------------------------------


def test_new_draft_form_offers_the_workspace_templates(client, marketer, template, campaign_url):
    PromptTemplate.objects.create(workspace=f.WorkspaceFactory(slug="other"), name="Not ours", text="x")
    client.force_login(marketer)
    body = client.get(campaign_url).content.decode()
    assert '<label for="id_template">Start from template</label>' in body
    assert ">Product hero</option>" in body
    assert "Not ours" not in body


def test_without_templates_there_is_no_empty_select(client, marketer, campaign_url):
    client.force_login(marketer)
    assert "Start from template" not in client.get(campaign_url).content.decode()


def test_an_empty_prompt_starts_from_the_template_and_its_style(client, marketer, template, campaign_url):
    client.force_login(marketer)
    response = client.post(
        campaign_url,
        {"title": "Hero", "template": template.pk, "text": "", "variables": '{"product": "lemon soda"}'},
    )
    assert response.status_code == 302
    version = PromptDraft.objects.get(title="Hero").versions.get()
    assert version.text == "A {product} on a marble counter.\n\nPhotographic, soft morning light."
    assert version.variables == {"product": "lemon soda"}
    assert services.prompt_compose(version=version).endswith(
        "A lemon soda on a marble counter.\n\nPhotographic, soft morning light."
    )


def test_a_written_prompt_wins_over_the_template(client, marketer, template, campaign_url):
    client.force_login(marketer)
    client.post(campaign_url, {"title": "Mine", "template": template.pk, "text": "My own words"})
    assert PromptDraft.objects.get(title="Mine").versions.get().text == "My own words"


def test_no_prompt_and_no_template_is_explained(client, marketer, template, campaign_url):
    client.force_login(marketer)
    response = client.post(campaign_url, {"title": "Empty", "template": "", "text": "  "})
    assert response.status_code == 400
    assert "Write a prompt: describe the image you need." in response.content.decode()
    assert not PromptDraft.objects.exists()


def test_another_workspaces_template_cannot_be_used(client, marketer, template, campaign_url):
    foreign = PromptTemplate.objects.create(workspace=f.WorkspaceFactory(slug="other"), name="Theirs", text="Secret")
    client.force_login(marketer)
    response = client.post(campaign_url, {"title": "Sneaky", "template": foreign.pk, "text": ""})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not PromptDraft.objects.exists()


@pytest.mark.django_db
def test_seed_demo_adds_two_templates_once():
    call_command("seed_demo", quiet=True)
    call_command("seed_demo", quiet=True)
    demo = Workspace.objects.get(slug="demo")
    templates = list(demo.prompt_templates.order_by("name"))
    assert [t.name for t in templates] == ["Product hero", "Seasonal banner"]
    assert all("{product}" in t.text and t.style_preset for t in templates)


# --- Draft history diff -------------------------------------------------------------------------------


def test_word_diff_marks_changed_words_only():
    runs = selectors.word_diff("A red apple on a table", "A green apple on the kitchen table")
    assert runs == [
        ("equal", "A "),
        ("delete", "red"),
        ("insert", "green"),
        ("equal", " apple on "),
        ("delete", "a"),
        ("insert", "the kitchen"),
        ("equal", " table"),
    ]
    assert selectors.word_diff("same text", "same text") == [("equal", "same text")]
    assert selectors.word_diff("", "new") == [("insert", "new")]


def test_word_diff_marks_words_not_the_blanks_around_them():
    # A removed word keeps one unmarked space from the next word; an added one carries no trailing blank.
    assert selectors.word_diff("A cold soda", "A soda") == [("equal", "A "), ("delete", "cold"), ("equal", " soda")]
    assert selectors.word_diff("on a table", "on a rustic table") == [
        ("equal", "on a "),
        ("insert", "rustic"),
        ("equal", " table"),
    ]
    # Punctuation is its own token: "shadows" -> "shadows, a sprig" marks only what was added.
    assert selectors.word_diff("soft shadows", "soft shadows, mint") == [
        ("equal", "soft shadows"),
        ("insert", ", mint"),
    ]


def test_word_diff_leaves_no_blank_gaps_for_removed_line_breaks():
    # Struck-through blank lines would read as an empty gap in the diff: a removed break becomes a space.
    assert selectors.word_diff("One.\n\nTwo.", "One. Two.") == [("equal", "One. Two.")]
    runs = selectors.word_diff("One.\n\nOld paragraph.", "One.")
    assert runs == [("equal", "One. "), ("delete", "Old paragraph.")]
    assert all("\n" not in text for kind, text in runs if kind == "delete")


def test_keyed_diff_lists_added_removed_and_changed_names():
    from studio.lib.textdiff import keyed_diff

    changes = keyed_diff(
        {"product": "lemon soda", "surface": "marble", "old": "x"},
        {"mood": "calm", "product": "lime soda", "surface": "marble"},
    )
    assert [(c.key, c.kind, c.old, c.new, c.label) for c in changes] == [
        ("product", "changed", "lemon soda", "lime soda", "Changed"),
        ("mood", "added", "", "calm", "Added"),
        ("old", "removed", "x", "", "Removed"),
    ]
    assert keyed_diff({"a": "1"}, {"a": "1"}) == []
    assert keyed_diff(None, {}) == []


def test_diff_page_lists_template_values_by_name(client, marketer, campaign, workspace):
    draft = services.draft_create(
        actor=marketer,
        campaign=campaign,
        title="Values",
        text="A {product} on {surface}",
        variables={"product": "lemon soda", "surface": "marble", "light": "morning"},
    )
    services.draft_version_add(
        actor=marketer,
        draft=draft,
        text="A {product} on {surface}",
        variables={"product": "lime soda", "surface": "marble", "mood": "calm"},
    )
    client.force_login(marketer)
    body = client.get(reverse("studio:draft_version_diff", args=[workspace.slug, draft.pk, 2])).content.decode()
    values = body[body.index("data-diff-variables") :]
    assert re.findall(
        r'data-change="(\w+)">\s*<span class="vd-kind">\w+</span>\s*<code class="vd-name">(\w+)</code>', values
    ) == [
        ("changed", "product"),
        ("added", "mood"),
        ("removed", "light"),
    ]
    assert "surface" not in values.split("</ul>")[0]  # unchanged values are not listed
    assert "The prompt text is the same in both versions." in body
    assert "{&quot;" not in body  # no JSON shown


@pytest.fixture
def draft(marketer, campaign):
    draft = services.draft_create(
        actor=marketer, campaign=campaign, title="Hero", text="A red apple on a table", locale_copy={"en": "Hi"}
    )
    services.draft_version_add(
        actor=marketer, draft=draft, text="A green apple on a <b>table</b>", locale_copy={"en": "Hello"}
    )
    return draft


def test_diff_page_shows_added_and_removed_words(client, marketer, draft, workspace):
    client.force_login(marketer)
    response = client.get(reverse("studio:draft_version_diff", args=[workspace.slug, draft.pk, 2]))
    assert response.status_code == 200
    body = response.content.decode()
    # Marked by element and by words a screen reader reads, not by colour alone.
    assert (
        '<del class="es-textdiff-del"><span class="visually-hidden">[removed: </span>red'
        '<span class="visually-hidden">]</span></del>'
        '<ins class="es-textdiff-ins"><span class="visually-hidden">[added: </span>green'
    ) in body
    # User text is escaped, never markup.
    assert "&lt;" in body
    assert "<b>" not in body
    # The copy by locale: one "Changed" line for en, old and new value.
    copy = body[body.index("data-diff-copy") :]
    assert re.search(
        r'data-change="changed">\s*<span class="vd-kind">Changed</span>\s*<code class="vd-name">en</code>', copy
    )
    assert '<span class="visually-hidden">was </span>Hi</del>' in copy
    assert '<span class="visually-hidden">now </span>Hello</ins>' in copy
    # One stylesheet (issue 14): the diff's styles are app.css's "edit studio" section, not a second file.
    stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', body)
    assert len(stylesheets) == 1
    assert stylesheets[0].endswith("css/app.css")
    assert 'style="' not in body


def test_diff_fragment_for_htmx_is_just_the_diff(client, marketer, draft, workspace):
    client.force_login(marketer)
    url = reverse("studio:draft_version_diff", args=[workspace.slug, draft.pk, 2])
    body = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert body.lstrip().startswith('<section id="version-diff"')
    assert "<html" not in body


def test_draft_history_links_each_version_to_its_diff(client, marketer, draft, workspace):
    client.force_login(marketer)
    body = client.get(reverse("studio:draft", args=[workspace.slug, draft.pk])).content.decode()
    url = reverse("studio:draft_version_diff", args=[workspace.slug, draft.pk, 2])
    assert f'<a href="{url}" hx-get="{url}"' in body
    assert body.count("Compare with previous") == 1  # version 1 has nothing before it
    assert 'id="version-diff-slot"' in body


@pytest.mark.parametrize("number", [1, 3])
def test_diff_without_both_versions_is_404(client, marketer, draft, workspace, number):
    client.force_login(marketer)
    response = client.get(reverse("studio:draft_version_diff", args=[workspace.slug, draft.pk, number]))
    assert response.status_code == 404


def test_diff_of_another_workspace_is_404(client, draft):
    other = f.WorkspaceFactory(slug="other")
    outsider = f.UserFactory(username="outsider")
    f.MembershipFactory(user=outsider, workspace=other, role="marketer")
    client.force_login(outsider)
    for slug in ("acme", "other"):
        assert client.get(reverse("studio:draft_version_diff", args=[slug, draft.pk, 2])).status_code == 404


# --- Token usage on the job card --------------------------------------------------------------------


def test_job_card_shows_input_cached_and_output_tokens(client, marketer, draft, workspace, offline_deployment):
    job = f.GenerationJobFactory(
        draft_version=draft.versions.get(number=2),
        deployment=offline_deployment,
        created_by=marketer,
        usage={
            "input_text_tokens": 120,
            "input_image_tokens": 300,
            "cached_text_tokens": 96,
            "cached_image_tokens": 4,
            "output_image_tokens": 4160,
            "output_text_tokens": 0,
            "total_tokens": 4580,
        },
    )
    client.force_login(marketer)
    body = client.get(reverse("studio:job_status", args=[workspace.slug, job.pk]), HTTP_HX_REQUEST="true")
    text = body.content.decode()
    assert "<dt>Input</dt><dd>120 text · 300 image tokens</dd>" in text
    assert "<dd data-usage-cached>100 tokens</dd>" in text
    assert "<dt>Output</dt><dd>4160 tokens</dd>" in text
    assert "100 input tokens came from the prompt cache" in text


def test_job_card_without_cache_hits_says_nothing_about_the_cache(
    client, marketer, draft, workspace, offline_deployment
):
    usage = {
        "input_text_tokens": 50,
        "input_image_tokens": 0,
        "cached_text_tokens": 0,
        "cached_image_tokens": 0,
        "output_image_tokens": 1010,
        "output_text_tokens": 0,
        "total_tokens": 1060,
    }
    job = f.GenerationJobFactory(
        draft_version=draft.versions.get(number=2), deployment=offline_deployment, created_by=marketer, usage=usage
    )
    client.force_login(marketer)
    text = client.get(reverse("studio:job_status", args=[workspace.slug, job.pk])).content.decode()
    assert "<dd data-usage-cached>0 tokens</dd>" in text
    assert "from the prompt cache" not in text
