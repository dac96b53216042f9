"""The site's own error pages: in the design system, in every setting, with no debug page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import path

from studio.core import error_pages
from studio.root_urls import urlpatterns as root_patterns


def _boom(request):
    raise RuntimeError("kaboom: a secret detail")


def _forbidden(request):
    from django.core.exceptions import PermissionDenied

    raise PermissionDenied


def _bad(request):
    from django.core.exceptions import SuspiciousOperation

    raise SuspiciousOperation("nope")


urlpatterns = [
    path("boom/", _boom),
    path("forbidden/", _forbidden),
    path("bad/", _bad),
    *root_patterns,
]
handler400 = "studio.core.error_pages.bad_request"
handler403 = "studio.core.error_pages.permission_denied"
handler404 = "studio.core.error_pages.page_not_found"
handler500 = "studio.core.error_pages.server_error"

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.ux.test_error_pages")]


def test_root_urls_name_the_handlers():
    from studio import root_urls

    assert root_urls.handler404 == "studio.core.error_pages.page_not_found"
    assert root_urls.handler500 == "studio.core.error_pages.server_error"
    assert root_urls.handler403 == "studio.core.error_pages.permission_denied"
    assert root_urls.handler400 == "studio.core.error_pages.bad_request"


def test_404_is_the_design_system_page_with_nav_for_a_signed_in_user(client, marketer):
    client.force_login(marketer)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "This page does not exist" in html
    assert "data-error-message" in html
    assert 'class="site-nav"' in html  # the member keeps their navigation
    assert "favicon.svg" in html
    assert "Traceback" not in html
    assert "Page not found at" not in html


def test_404_for_an_anonymous_visitor(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "This page does not exist" in response.content.decode()


def test_403(client, marketer):
    client.force_login(marketer)
    response = client.get("/forbidden/")
    assert response.status_code == 403
    assert "You can't do this here" in response.content.decode()


def _forbidden_with_words(request):
    from studio.core.errors import Forbidden

    raise Forbidden("Only a workspace admin can change this.")


def test_403_says_the_refusals_own_words(client, marketer, settings):
    urlpatterns.insert(0, path("forbidden-words/", _forbidden_with_words))
    try:
        client.force_login(marketer)
        response = client.get("/forbidden-words/")
    finally:
        urlpatterns.pop(0)
    assert response.status_code == 403
    assert "Only a workspace admin can change this." in response.content.decode()


def test_400(client):
    response = client.get("/bad/")
    assert response.status_code == 400
    assert "was not understood" in response.content.decode()


def test_500_renders_without_touching_the_database_and_hides_the_exception(rf):
    request = rf.get("/boom/")
    with CaptureQueriesContext(connection) as queries:
        response = error_pages.server_error(request)
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html
    assert "data-error-message" in html
    assert "favicon.svg" in html
    assert len(queries) == 0


def test_500_through_the_stack_shows_no_debug_page(client):
    client.raise_request_exception = False
    response = client.get("/boom/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html
    assert "kaboom" not in html
    assert "Traceback" not in html


@override_settings(DEBUG=False)
def test_csrf_failure_uses_the_design_system(client, marketer):
    csrf_client = client.__class__(enforce_csrf_checks=True)
    csrf_client.force_login(marketer)
    response = csrf_client.post("/accounts/logout/")
    assert response.status_code == 403
    assert "This form expired" in response.content.decode()
