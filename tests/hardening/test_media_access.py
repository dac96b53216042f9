"""Issue 10: unpublished images are served only to members of their workspace, never at a public
/media/ URL; published renditions keep theirs."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse

from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def variant(campaign, marketer):
    v = f.VariantFactory(job__draft_version__draft__campaign=campaign, job__draft_version__created_by=marketer)
    v.thumbnail.save("thumb.png", ContentFile(f.png_bytes(16, 12)), save=True)
    return v


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_member_gets_the_image_and_thumbnail_bytes(client, marketer, variant):
    client.force_login(marketer)
    image = client.get(reverse("studio:variant_image", args=[variant.workspace.slug, variant.pk]))
    assert image.status_code == 200
    assert image["Content-Type"] == "image/png"
    variant.image.open("rb")
    assert _body(image) == variant.image.read()
    thumb = client.get(reverse("studio:variant_thumbnail", args=[variant.workspace.slug, variant.pk]))
    assert thumb.status_code == 200
    assert _body(thumb) == f.png_bytes(16, 12)


def test_anonymous_is_sent_to_login(client, variant):
    for name in ("studio:variant_image", "studio:variant_thumbnail"):
        response = client.get(reverse(name, args=[variant.workspace.slug, variant.pk]))
        assert response.status_code == 302
        assert reverse("login") in response["Location"]


def test_other_workspace_member_gets_404(client, variant):
    other = f.WorkspaceFactory(slug="other", name="Other")
    outsider = f.UserFactory(username="eve")
    f.MembershipFactory(user=outsider, workspace=other, role=f.core_models.Role.ADMIN)
    client.force_login(outsider)
    for name in ("studio:variant_image", "studio:variant_thumbnail"):
        # Their own workspace's slug with the other's variant id, and the other's slug: both 404.
        assert client.get(reverse(name, args=["other", variant.pk])).status_code == 404
        assert client.get(reverse(name, args=[variant.workspace.slug, variant.pk])).status_code == 404


def test_the_raw_media_url_of_a_variant_is_not_served(client, marketer, variant):
    client.force_login(marketer)
    for file in (variant.image, variant.thumbnail):
        assert client.get(file.url).status_code == 404


def test_published_renditions_keep_their_public_url(client):
    name = default_storage.save("published/2026/12/rendition.png", ContentFile(f.png_bytes(8, 8)))
    response = client.get(default_storage.url(name))
    assert response.status_code == 200
    assert _body(response) == f.png_bytes(8, 8)


def test_variant_page_links_the_authorised_image_url(client, marketer, variant):
    client.force_login(marketer)
    html = client.get(reverse("studio:variant", args=[variant.workspace.slug, variant.pk])).content.decode()
    assert reverse("studio:variant_image", args=[variant.workspace.slug, variant.pk]) in html
    assert variant.image.url not in html
