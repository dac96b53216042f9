"""'Fix this' from a region-pinned review comment: the variant page pre-fills the edit form."""

from __future__ import annotations

import base64
import html
import io
import re

import pytest
from django.urls import reverse
from PIL import Image

from approvals.reviews.models import Comment
from studio.lib.imaging import mask_from_box
from tests import factories as f


@pytest.fixture
def variant(campaign, marketer, offline_deployment):
    return f.VariantFactory(
        job__draft_version__draft__campaign=campaign,
        job__deployment=offline_deployment,
        created_by=marketer,
        width=200,
        height=100,
    )


@pytest.fixture
def comment(variant, reviewer):
    return Comment.objects.create(
        variant=variant, author=reviewer, text="Make the logo bigger", x=0.5, y=0.25, w=0.25, h=0.5
    )


def _page(client, user, variant, fix):
    client.force_login(user)
    url = reverse("studio:variant", args=[variant.workspace.slug, variant.pk])
    response = client.get(url, {"fix_comment": fix})
    assert response.status_code == 200
    return response.content.decode()


MARKED = "A marked area is painted on the image."
NOTHING_MARKED = "Nothing painted: the instruction applies to the whole image."


def _mask_value(body: str) -> str:
    # The painter sits on the large image, outside the edit form: its input joins the form by id.
    match = re.search(r'<input type="hidden" name="mask" value="([^"]*)" form="edit-form" data-mask-input>', body)
    assert match, "the painter's hidden input is on the page"
    return html.unescape(match.group(1))


def test_fix_this_prefills_the_instruction_and_the_mask(client, marketer, variant, comment):
    body = _page(client, marketer, variant, comment.pk)
    assert "Make the logo bigger</textarea>" in body
    value = _mask_value(body)
    assert value.startswith("data:image/png;base64,")
    png = base64.b64decode(value.split(",", 1)[1])
    assert png == mask_from_box(width=200, height=100, box=(0.5, 0.25, 0.25, 0.5))
    with Image.open(io.BytesIO(png)) as mask:
        assert mask.size == (200, 100)
        alpha = mask.getchannel("A")
        assert alpha.getpixel((110, 40)) == 0  # inside the box: change here
        assert alpha.getpixel((10, 10)) == 255  # outside: keep
    # The edit form says an area is marked, and the page says where the pre-fill came from.
    assert MARKED in body
    assert "Fixing rob's comment" in body


@pytest.mark.parametrize("fix", ["", "abc", "999999"])
def test_without_a_usable_comment_the_form_is_empty(client, marketer, variant, comment, fix):
    body = _page(client, marketer, variant, fix)
    assert _mask_value(body) == ""
    assert "Make the logo bigger" not in body
    assert MARKED not in body
    assert NOTHING_MARKED in body


def test_a_comment_on_another_variant_is_ignored(client, marketer, variant, comment, workspace):
    other = f.VariantFactory(job=variant.job, created_by=marketer)
    body = _page(client, marketer, other, comment.pk)
    assert _mask_value(body) == ""
    assert "Make the logo bigger" not in body


def test_a_comment_in_another_workspace_is_ignored(client, marketer, variant, comment):
    elsewhere = f.WorkspaceFactory(slug="elsewhere")
    foreign_variant = f.VariantFactory(workspace=elsewhere, job__workspace=elsewhere)
    foreign = Comment.objects.create(
        variant=foreign_variant, author=foreign_variant.created_by, text="Secret note", x=0.1, y=0.1, w=0.2, h=0.2
    )
    body = _page(client, marketer, variant, foreign.pk)
    assert "Secret note" not in body
    assert _mask_value(body) == ""


def test_a_comment_without_a_box_is_ignored(client, marketer, variant, reviewer):
    plain = Comment.objects.create(variant=variant, author=reviewer, text="Nice colours")
    body = _page(client, marketer, variant, plain.pk)
    assert "Nice colours</textarea>" not in body


def test_a_box_over_the_whole_image_prefills_the_instruction_only(client, marketer, variant, reviewer):
    whole = Comment.objects.create(variant=variant, author=reviewer, text="Too dark", x=0, y=0, w=1, h=1)
    body = _page(client, marketer, variant, whole.pk)
    assert "Too dark</textarea>" in body
    assert _mask_value(body) == ""


def test_the_prefilled_form_submits_an_inpaint_with_the_comment_box(
    client, marketer, variant, comment, django_capture_on_commit_callbacks
):
    mask_value = _mask_value(_page(client, marketer, variant, comment.pk))
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            reverse("studio:variant_edit", args=[variant.workspace.slug, variant.pk]),
            {"instruction": comment.text, "mask": mask_value},
        )
    assert response.status_code == 302, re.findall(r"alert-error[^<]*", response.content.decode())
    job = variant.job.__class__.objects.exclude(pk=variant.job_id).get()
    assert job.operation == "inpaint"
    assert job.instruction == "Make the logo bigger"
    with job.mask.open("rb") as fh:
        assert fh.read() == mask_from_box(width=200, height=100, box=(0.5, 0.25, 0.25, 0.5))


def test_a_refused_edit_keeps_the_painted_mask(client, marketer, variant, comment):
    """The server refuses the form (no instruction): the mask comes back so the painter restores it."""
    mask_value = _mask_value(_page(client, marketer, variant, comment.pk))
    response = client.post(
        reverse("studio:variant_edit", args=[variant.workspace.slug, variant.pk]),
        {"instruction": "", "mask": mask_value},
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "Describe the change you want." in body
    assert _mask_value(body) == mask_value
    assert MARKED in body
