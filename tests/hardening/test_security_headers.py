"""Issue 10: CSP on the Django admin too, and a Permissions-Policy header on every response."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests import factories as f

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)


@pytest.fixture
def operator(client):
    user = f.UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def _assert_strict(response):
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp
    assert "style-src 'self';" in csp
    assert "unsafe-inline" not in csp
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert "geolocation=()" in response.headers["Permissions-Policy"]


@pytest.mark.parametrize(
    "url_name",
    ["admin:index", "admin:core_workspace_changelist", "admin:core_workspace_add", "admin:studio_campaign_changelist"],
)
def test_admin_pages_carry_the_csp_and_have_no_inline_script(client, operator, workspace, url_name):
    response = client.get(reverse(url_name))
    assert response.status_code == 200
    _assert_strict(response)
    html = response.content.decode()
    assert not INLINE_SCRIPT.findall(html)
    assert not re.search(r"\sstyle=\"", html)
    assert not re.search(r"\son(click|load|change|submit)=", html, re.I)


def test_admin_change_form_carries_the_csp(client, operator, workspace):
    response = client.get(reverse("admin:core_workspace_change", args=[workspace.pk]))
    assert response.status_code == 200
    _assert_strict(response)
    assert not INLINE_SCRIPT.findall(response.content.decode())


def test_admin_login_page_carries_the_csp(client):
    response = client.get(reverse("admin:login"))
    _assert_strict(response)


def test_product_pages_carry_the_permissions_policy(client, marketer, workspace):
    client.force_login(marketer)
    _assert_strict(client.get(reverse("studio:workspace", args=[workspace.slug])))
    _assert_strict(client.get(reverse("login")))
