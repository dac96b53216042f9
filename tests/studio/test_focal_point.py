"""The focal point: set by a marketer on the variant page (service audited, view scoped to the
workspace), shown on the page, used by renditions."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from studio.core.models import AuditEvent, Role
from studio.core.permissions import RoleRequired
from studio.generation.services.focal_point import InvalidFocalPoint, variant_focal_point_set
from tests import factories as f
from tests.approvals.factories_reviews import member, variant_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def variant(workspace, marketer, campaign):
    return variant_for(workspace, creator=marketer, campaign=campaign, width=120, height=80)


def events(workspace):
    return AuditEvent.objects.filter(workspace=workspace, action="studio.variant.focal_point_set").order_by("seq")


def test_setting_the_focal_point_is_audited(variant, marketer, workspace):
    variant_focal_point_set(actor=marketer, variant=variant, focal_x=0.25, focal_y=0.8)
    variant.refresh_from_db()
    assert (variant.focal_x, variant.focal_y) == (0.25, 0.8)
    event = events(workspace).get()
    assert event.actor_id == marketer.pk
    assert event.subject_id == str(variant.pk)
    assert event.data["before"] == [None, None]
    assert event.data["after"] == [0.25, 0.8]
    assert event.data["position"] == "25% across, 80% down"
    # Unchanged: nothing is written. Reset: back to the centre, audited.
    variant_focal_point_set(actor=marketer, variant=variant, focal_x=0.25, focal_y=0.8)
    assert events(workspace).count() == 1
    variant_focal_point_set(actor=marketer, variant=variant, focal_x=None, focal_y=None)
    variant.refresh_from_db()
    assert (variant.focal_x, variant.focal_y) == (None, None)
    assert events(workspace).last().data["position"] == "the centre"


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        (1.5, 0.5, "between 0% and 100%"),
        (-0.1, 0.5, "between 0% and 100%"),
        ("left", 0.5, "as a number"),
        (float("nan"), 0.5, "between 0% and 100%"),
        (0.5, None, "Give both positions"),
    ],
)
def test_bad_positions_are_refused_in_plain_words(variant, marketer, workspace, x, y, message):
    with pytest.raises(InvalidFocalPoint, match=message):
        variant_focal_point_set(actor=marketer, variant=variant, focal_x=x, focal_y=y)
    assert not events(workspace).exists()


def test_only_image_makers_move_the_focal_point(variant, reviewer, workspace):
    with pytest.raises(RoleRequired, match="Only a marketer or workspace admin"):
        variant_focal_point_set(actor=reviewer, variant=variant, focal_x=0.1, focal_y=0.1)
    variant.refresh_from_db()
    assert variant.focal_x is None
    assert not events(workspace).exists()


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_variant_page_shows_the_picker_and_the_form_saves(variant, marketer, workspace):
    client = login(marketer)
    page_url = reverse("studio:variant", args=[workspace.slug, variant.pk])
    page = client.get(page_url).content.decode()
    assert "data-focal-point" in page
    assert 'name="focal_x"' in page
    assert "js/focal-point.js" in page
    url = reverse("studio:variant_focal_point", args=[workspace.slug, variant.pk])
    response = client.post(url, {"focal_x": "30", "focal_y": "60"})  # percent, the no-script form
    assert response.status_code == 302
    variant.refresh_from_db()
    assert (variant.focal_x, variant.focal_y) == (0.3, 0.6)
    page = client.get(page_url).content.decode()
    assert 'cx="36"' in page  # the marker drawn where it was saved: 30% of 120 px
    partial = client.post(url, {"focal_x": "150", "focal_y": "60"}, HTTP_HX_REQUEST="true")
    assert partial.status_code == 422
    assert "from 0 to 100" in partial.content.decode()
    reset = client.post(url, {"reset": "1"}, HTTP_HX_REQUEST="true")
    assert reset.status_code == 200
    assert "Focal point saved." in reset.content.decode()
    variant.refresh_from_db()
    assert variant.focal_x is None


def test_a_reviewer_sees_the_point_but_gets_no_form_and_cannot_post(variant, reviewer, workspace):
    client = login(reviewer)
    page = client.get(reverse("studio:variant", args=[workspace.slug, variant.pk])).content.decode()
    assert "data-focal-point" in page
    assert 'name="focal_x"' not in page
    response = client.post(
        reverse("studio:variant_focal_point", args=[workspace.slug, variant.pk]),
        {"focal_x": "10", "focal_y": "10"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 403
    variant.refresh_from_db()
    assert variant.focal_x is None


def test_the_workspace_wall(variant, workspace):
    other = f.WorkspaceFactory(slug="other")
    outsider = member(other, "olga", Role.MARKETER)
    client = login(outsider)
    for slug in (workspace.slug, other.slug):
        url = reverse("studio:variant_focal_point", args=[slug, variant.pk])
        assert client.post(url, {"focal_x": "10", "focal_y": "10"}).status_code == 404
    variant.refresh_from_db()
    assert variant.focal_x is None
    assert not events(workspace).exists()
