"""Template values on the draft forms (issue 14): one labelled field per {placeholder}, the JSON kept as an
advanced option, every value checked on the server with the error by its field, and Generate disabled
(saying why) while the saved version lacks one."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from studio.generation import services
from studio.generation.forms import DraftEditForm, DraftForm
from studio.generation.models import PromptTemplate


@pytest.fixture
def template(workspace):
    return PromptTemplate.objects.create(
        workspace=workspace, name="Product hero", text="A {product} on a {surface}", style_preset="Soft light"
    )


def _edit(data: dict, saved: dict | None = None) -> DraftEditForm:
    initial = {"text": data.get("text", ""), "variables": json.dumps(saved) if saved else ""}
    return DraftEditForm({"values_base": initial["variables"], **data}, initial=initial)


def test_picking_a_template_gives_a_field_per_placeholder_and_needs_each_value(workspace, template):
    form = DraftForm(
        {"title": "Hero", "template": template.pk, "text": "", "value__product": "lemon soda"}, workspace=workspace
    )
    assert [(b.name, b.label) for b in form.value_fields()] == [
        ("value__product", "Product"),
        ("value__surface", "Surface"),
    ]
    assert not form.is_valid()
    assert form.errors["value__surface"] == ["Fill in a value for {surface}, or take {surface} out of the prompt."]
    form = DraftForm(
        {"title": "Hero", "template": template.pk, "text": "", "value__product": "lemon soda", "value__surface": "oak"},
        workspace=workspace,
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["variables"] == {"product": "lemon soda", "surface": "oak"}
    assert form.cleaned_data["text"] == "A {product} on a {surface}\n\nSoft light"


def test_each_template_option_carries_its_text_for_the_page(workspace, template):
    html = str(DraftForm(workspace=workspace)["template"])
    assert f'value="{template.pk}" data-text="A {{product}} on a {{surface}}\n\nSoft light"' in html


def test_values_for_the_prompt_typed_in_the_json_only_are_accepted():
    form = _edit({"text": "A {product}", "variables": '{"product": "lime", "extra": "kept"}'})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["variables"] == {"product": "lime", "extra": "kept"}


def test_without_script_the_changed_one_of_field_and_json_wins():
    saved = {"product": "lemon soda"}
    field_changed = _edit({"text": "A {product}", "value__product": "lime soda", "variables": json.dumps(saved)}, saved)
    assert field_changed.is_valid(), field_changed.errors
    assert field_changed.cleaned_data["variables"] == {"product": "lime soda"}
    json_changed = _edit(
        {"text": "A {product}", "value__product": "lemon soda", "variables": '{"product": "cola"}'}, saved
    )
    assert json_changed.is_valid(), json_changed.errors
    assert json_changed.cleaned_data["variables"] == {"product": "cola"}
    both = _edit({"text": "A {product}", "value__product": "lime soda", "variables": '{"product": "cola"}'}, saved)
    assert not both.is_valid()
    assert both.errors["value__product"] == ["The JSON below says “cola” for {product}: change one so they agree."]


def test_emptying_a_field_removes_the_value_and_is_refused_by_that_field():
    saved = {"product": "lemon soda"}
    form = _edit({"text": "A {product}", "value__product": "", "variables": json.dumps(saved)}, saved)
    assert not form.is_valid()
    assert "value__product" in form.errors


def test_a_placeholder_typed_without_script_is_refused_under_the_json():
    # The page drew fields for {product} only; the prompt now also says {surface}: the server says so.
    form = _edit({"text": "A {product} on a {surface}", "value__product": "lime"})
    assert "value__surface" in form.fields  # the next page has a field for it...
    assert form.errors["value__surface"] == ["Fill in a value for {surface}, or take {surface} out of the prompt."]


def test_bad_json_is_still_refused_in_words():
    form = _edit({"text": "A lemon", "variables": "[1, 2]"})
    assert form.errors["variables"] == ['Template values must look like {"name": "value"}.']


def test_draft_page_disables_generate_and_names_the_missing_value(client, marketer, campaign, workspace):
    draft = services.draft_create(
        actor=marketer,
        campaign=campaign,
        title="Soda",
        text="A soda on a {surface} in {light} light",
        variables={"light": "dawn"},
    )
    client.force_login(marketer)
    body = client.get(reverse("studio:draft", args=[workspace.slug, draft.pk])).content.decode()
    button = re.search(r'<button type="submit" id="generate-submit"[^>]*>', body).group(0)
    assert " disabled" in button
    assert 'aria-describedby="generate-values-note"' in button
    note = re.search(r'<p id="generate-values-note"[^>]*>(.*?)</p>', body, re.S).group(1)
    assert note.startswith("Fill in {surface} in the prompt form")
    # One labelled field per placeholder, the saved value filled in, the JSON behind "Advanced".
    assert '<label for="id_value__surface">Surface' in body
    assert re.search(r'<input type="text" name="value__light" value="dawn"', body)
    assert "Advanced: all values as JSON" in body
    assert "js/template-values.js" in body


def test_draft_page_lets_generate_run_when_every_value_is_saved(client, marketer, campaign, workspace):
    draft = services.draft_create(
        actor=marketer, campaign=campaign, title="Soda", text="A soda on a {surface}", variables={"surface": "oak"}
    )
    client.force_login(marketer)
    body = client.get(reverse("studio:draft", args=[workspace.slug, draft.pk])).content.decode()
    button = re.search(r'<button type="submit" id="generate-submit"[^>]*>', body).group(0)
    assert " disabled" not in button
    assert re.search(r'<p id="generate-values-note"[^>]*hidden', body)


def test_saving_a_version_takes_the_values_from_their_fields(client, marketer, campaign, workspace):
    draft = services.draft_create(actor=marketer, campaign=campaign, title="Soda", text="A soda on a {surface}")
    client.force_login(marketer)
    url = reverse("studio:draft_save", args=[workspace.slug, draft.pk])
    refused = client.post(url, {"text": "A soda on a {surface}", "value__surface": "", "variables": ""})
    assert refused.status_code == 400
    body = refused.content.decode()
    error = re.search(r'id="id_value__surface_error">(.*?)</div>', body, re.S).group(1)
    assert error == "Fill in a value for {surface}, or take {surface} out of the prompt."
    assert draft.versions.count() == 1
    saved = client.post(url, {"text": "A soda on a {surface}", "value__surface": "marble", "variables": ""})
    assert saved.status_code == 302
    assert draft.versions.order_by("-number").first().variables == {"surface": "marble"}
