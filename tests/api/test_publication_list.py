"""The publication list pipelines poll: the same queries at 3 or 30 publications, every row once across
cursor pages (forwards and back) while another workspace's newer rows are skipped, and each row the same
as the publication's own page. Also: every routed API view says which objects it shows."""

from __future__ import annotations

import inspect

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import get_resolver

from approvals.publishing import services as publishing
from approvals.reviews import services as reviews
from approvals.reviews.models import StageKind
from tests import factories as f
from tests.approvals.factories_reviews import variant_for

pytestmark = pytest.mark.django_db


def _publish(workspace, maker, judge, campaign, fmt, n: int, locale: str = "en") -> list:
    published = []
    for _ in range(n):
        variant = variant_for(workspace, creator=maker, campaign=campaign, locale=locale)
        review = reviews.variant_submit(actor=maker, variant=variant)
        reviews.review_decide(
            actor=judge,
            stage=review.stages.get(kind=StageKind.BRAND),
            outcome="approve",
            expected_sha256=variant.sha256,
        )
        published.append(publishing.publication_create(actor=maker, variant=variant, target_format=fmt))
    return published


@pytest.fixture
def fmt(campaign):
    return f.CampaignFormatFactory(campaign=campaign, name="Square", width=32, height=24)


def _queries(api, path: str) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(path)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.json()


def test_the_list_costs_the_same_queries_at_3_and_30_publications(
    api_for, workspace, marketer, reviewer, campaign, fmt
):
    api = api_for(marketer, workspace, ["read"])
    api.get("/api/v1/publications/")  # the key's first use writes last_used_at; measure the steady state
    _publish(workspace, marketer, reviewer, campaign, fmt, 3)
    at_3, page_3 = _queries(api, "/api/v1/publications/")
    _publish(workspace, marketer, reviewer, campaign, fmt, 27)
    at_30, page_30 = _queries(api, "/api/v1/publications/")
    assert (len(page_3["results"]), len(page_30["results"])) == (3, 30)
    # The key (with its user, workspace and the user's roles there), then the page (ids in a subquery).
    assert at_3 == at_30 == 2
    filtered, _ = _queries(api, f"/api/v1/publications/?campaign={campaign.pk}&locale=en&limit=10")
    assert filtered == 2


def test_cursor_pages_walk_every_publication_once_and_back(api_for, workspace, marketer, reviewer, campaign, fmt):
    mine = _publish(workspace, marketer, reviewer, campaign, fmt, 7)
    other = f.WorkspaceFactory(slug="other")
    maker, judge = f.UserFactory(username="omar"), f.UserFactory(username="olga")
    f.MembershipFactory(user=maker, workspace=other, role=f.core_models.Role.MARKETER)
    f.MembershipFactory(user=judge, workspace=other, role=f.core_models.Role.BRAND_REVIEWER)
    other_campaign = f.CampaignFactory(workspace=other)
    other_fmt = f.CampaignFormatFactory(campaign=other_campaign, width=32, height=24)
    _publish(other, maker, judge, other_campaign, other_fmt, 3)  # newer ids the list must skip
    mine += _publish(workspace, marketer, reviewer, campaign, fmt, 2)
    api = api_for(marketer, workspace, ["read"])

    pages, url = [], "/api/v1/publications/?limit=3"
    while url:
        page = api.client.get(url).json()
        pages.append(page)
        url = page["next"]
    seen = [row["id"] for page in pages for row in page["results"]]
    assert seen == sorted((p.pk for p in mine), reverse=True)
    assert [len(page["results"]) for page in pages] == [3, 3, 3]
    back = api.client.get(pages[-1]["previous"]).json()
    assert back["results"] == pages[-2]["results"]


def test_each_row_is_what_the_publications_page_says(api_for, workspace, marketer, reviewer, campaign, fmt):
    publication = _publish(workspace, marketer, reviewer, campaign, fmt, 1, locale="ja")[0]
    api = api_for(marketer, workspace, ["read"])
    row = api.get("/api/v1/publications/").json()["results"][0]
    assert row == api.get(f"/api/v1/publications/{publication.pk}/").json()
    assert row["campaign"] == campaign.pk
    assert row["locale"] == "ja"
    assert row["format_name"] == "Square"
    assert row["published_by"] == marketer.username
    assert row["file_url"] == f"/api/v1/publications/{publication.pk}/file"
    download = api.client.get(row["file_url"])
    assert download.status_code == 200


def _api_view_classes():
    def walk(patterns):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                yield from walk(pattern.url_patterns)
            elif getattr(pattern.callback, "cls", None) is not None:
                yield pattern.callback.cls

    return {cls for cls in walk(get_resolver().url_patterns) if cls.__module__.startswith("approvals.api")}


def test_every_routed_api_view_names_its_objects():
    classes = _api_view_classes()
    assert len(classes) > 20
    abstract = sorted(cls.__name__ for cls in classes if inspect.isabstract(cls))
    assert abstract == []


def test_the_openapi_document_builds_with_every_view(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.1.")
    paths = response.json()["paths"]
    # The object views and the two kinds that are not (files, the audit export) all made it in.
    for path in ("/api/v1/publications/", "/api/v1/variants/{id}/image", "/api/v1/audit/export/"):
        assert path in paths, sorted(paths)
    export_params = {p["name"] for p in paths["/api/v1/audit/export/"]["get"]["parameters"]}
    assert {"format", "since"} <= export_params


def test_a_keys_roles_are_read_with_the_key_on_every_request(api_for, workspace, marketer):
    from studio.core.models import Membership, Role

    api = api_for(marketer, workspace, ["read"])
    assert api.get("/api/v1/audit/export/", format="csv").status_code == 403  # a marketer's key
    Membership.objects.filter(user=marketer, workspace=workspace).update(role=Role.COMPLIANCE)
    assert api.get("/api/v1/audit/export/", format="csv").status_code == 200  # the new role, at once
    Membership.objects.filter(user=marketer, workspace=workspace).delete()
    gone = api.get("/api/v1/reviews/")
    assert gone.status_code == 401
    assert "no longer a member" in gone.json()["detail"]
