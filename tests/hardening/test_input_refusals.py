"""NUL characters and empty uploads are refused in words beside the field: never a 500, nothing stored."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from approvals.reviews import services as review_services
from approvals.reviews.models import Comment, Decision
from studio.generation import services
from studio.generation.models import DraftVersion, GenerationJob, PromptDraft
from tests.approvals.factories_reviews import variant_for

pytestmark = pytest.mark.django_db


def login(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def campaign_url(workspace, campaign) -> str:
    return reverse("studio:campaign", args=[workspace.slug, campaign.slug])


@pytest.mark.parametrize(
    ("field", "value", "label"),
    [
        ("locale_copy", "en: Spring\x00sale", "In-image copy"),
        ("variables", '{"product": "lemon\\u0000soda"}', "Template values"),
        ("variables", '{"prod\\u0000uct": "lemon"}', "Template values"),
        ("variables", '{"product": "lemon\x00soda"}', "Template values"),
        ("text", "A lemon\x00 on a table", "Prompt"),
        ("title", "Hero\x00", "Title"),
    ],
)
def test_a_nul_in_a_new_draft_is_refused_naming_the_field(workspace, marketer, campaign, field, value, label):
    data = {"title": "Hero", "text": "A lemon on a table {product}", field: value}
    response = login(marketer).post(campaign_url(workspace, campaign), data)
    assert response.status_code == 400
    assert f"{label} cannot contain NUL" in response.content.decode()
    assert not PromptDraft.objects.exists()


def test_a_nul_in_a_saved_version_is_refused(workspace, marketer, campaign, ad_format, offline_deployment):
    draft = services.draft_create(actor=marketer, campaign=campaign, title="Hero", text="A lemon")
    before = DraftVersion.objects.count()
    url = reverse("studio:draft_save", args=[workspace.slug, draft.pk])
    nul_copy = {"text": "A lemon", "locale_copy": "ja: 春\x00"}
    nul_value = {"text": "A lemon", "variables": '{"a": "\\u0000"}'}
    for data in (nul_copy, nul_value):
        response = login(marketer).post(url, data)
        assert response.status_code == 400
        assert "cannot contain NUL" in response.content.decode()
    assert DraftVersion.objects.count() == before


def test_a_nul_in_an_edit_instruction_is_refused(workspace, marketer, campaign):
    variant = variant_for(workspace, creator=marketer, campaign=campaign)
    jobs = GenerationJob.objects.count()
    response = login(marketer).post(
        reverse("studio:variant_edit", args=[workspace.slug, variant.pk]), {"instruction": "Warmer\x00"}
    )
    assert response.status_code == 422
    assert "Instruction cannot contain NUL" in response.content.decode()
    assert GenerationJob.objects.count() == jobs


def test_a_zero_byte_upload_says_the_file_is_empty(workspace, marketer, campaign):
    variant = variant_for(workspace, creator=marketer, campaign=campaign)
    jobs = GenerationJob.objects.count()
    empty = SimpleUploadedFile("product.png", b"", content_type="image/png")
    response = login(marketer).post(
        reverse("studio:variant_edit", args=[workspace.slug, variant.pk]),
        {"instruction": "Place the product", "reference_files": [empty]},
    )
    assert response.status_code == 422
    body = response.content.decode()
    alert = re.search(r'alert-error" role="alert">([^<]*)<', body).group(1)
    assert "Upload reference images: The file is empty." in alert
    assert 'class="field-error" role="alert"><ul class="errorlist"' in body  # highlighted beside the input
    assert "Please fix the highlighted fields." not in body
    assert GenerationJob.objects.count() == jobs


def test_a_nul_in_a_comment_or_a_decision_note_is_refused(workspace, marketer, reviewer, campaign):
    review = review_services.variant_submit(
        actor=marketer, variant=variant_for(workspace, creator=marketer, campaign=campaign)
    )
    stage = review.stages.get()
    client = login(reviewer)
    base = f"/w/{workspace.slug}/reviews/{review.pk}/"
    comment = client.post(base + "comments/", {"text": "Too dark\x00"})
    assert comment.status_code in (302, 422)
    decide = client.post(
        base + f"stages/{stage.pk}/decide/",
        {"outcome": "reject", "note": "No\x00", "expected_sha256": review.variant_sha256},
    )
    assert decide.status_code == 422
    assert "Note or reason cannot contain NUL" in decide.content.decode()
    assert not Comment.objects.exists()
    assert not Decision.objects.exists()
