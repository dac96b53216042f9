"""404 probes of workspace URLs: each is logged on ``imprimatur.security`` (user id and path, never the
query string) and, past 30 in 5 minutes, the user's workspace pages answer 429 with a readable page."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from studio.core.models import Role
from tests import factories as f
from tests.approvals.factories_reviews import member

pytestmark = pytest.mark.django_db


@pytest.fixture
def prober(workspace):
    outsider = member(f.WorkspaceFactory(slug="other"), "olga", Role.BRAND_REVIEWER)
    client = Client()
    client.force_login(outsider)
    return outsider, client


def test_a_probe_is_logged_without_the_query_string(prober, workspace, caplog):
    user, client = prober
    with caplog.at_level(logging.WARNING, logger="imprimatur.security"):
        response = client.get(f"/w/{workspace.slug}/reviews/424242/?token=s3cret")
    assert response.status_code == 404
    records = [r for r in caplog.records if r.name == "imprimatur.security"]
    assert len(records) == 1
    line = records[0].getMessage()
    assert f"user={user.pk}" in line
    assert f"path=/w/{workspace.slug}/reviews/424242/" in line
    assert "s3cret" not in line


def test_the_31st_probe_answers_429(prober, workspace):
    _user, client = prober
    for pk in range(1, 31):
        assert client.get(f"/w/{workspace.slug}/reviews/{pk}/").status_code == 404
    response = client.get(f"/w/{workspace.slug}/reviews/31/")
    assert response.status_code == 429
    assert "Too many pages not found" in response.content.decode()
    assert response["Retry-After"] == "300"
    assert client.get("/w/other/").status_code == 429  # every workspace page, until the window ends


def test_other_users_and_a_fresh_window_are_not_affected(prober, workspace, marketer):
    from django.core.cache import cache

    from studio.security_middleware import probe_key

    user, client = prober
    for pk in range(1, 31):
        client.get(f"/w/{workspace.slug}/reviews/{pk}/")
    own = Client()
    own.force_login(marketer)
    assert own.get(f"/w/{workspace.slug}/").status_code == 200
    cache.delete(probe_key(user.pk))  # the window ended
    assert client.get(f"/w/{workspace.slug}/reviews/1/").status_code == 404


def test_anonymous_requests_are_not_counted(client, workspace):
    for _ in range(35):
        response = client.get(f"/w/{workspace.slug}/reviews/1/")
    assert response.status_code == 302  # to the login page, never 429
