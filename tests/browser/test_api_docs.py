"""The interactive API docs run in a real browser under the site's strict CSP: Swagger UI (served from
this app, no CDN) renders the schema, and the browser reports no CSP violation and no failed request."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_swagger_ui_renders_under_the_strict_csp(live_server, page):
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
    external: list[str] = []
    page.on(
        "request", lambda request: external.append(request.url) if not request.url.startswith(live_server.url) else None
    )
    response = page.goto(live_server.url + "/api/v1/docs/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
    assert "Imprimatur delivery API" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector(".opblock-tag", timeout=10_000)
    assert page.locator(".opblock-tag").count() >= 5
    assert not [p for p in problems if "Content Security Policy" in p or "failed:" in p], problems
    assert not external, external
