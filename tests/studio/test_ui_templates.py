"""The design system: pages render under the strict CSP, colours stay readable, class contracts hold.

This module doubles as a tiny URLconf (``urlpatterns`` below) so the header navigation can be tested
against a known set of routes, independently of which apps have wired theirs yet.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.template import Context, Template
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import include, path

from studio.core.templatetags.ui import money, progress_step
from tests import factories as f

ROOT = Path(settings.BASE_DIR)
CSS = (ROOT / "static" / "css" / "app.css").read_text()


def _ok(request, **kwargs):
    return HttpResponse("ok")


urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("reviews/", include(([path("", _ok, name="queue"), path("inbox/", _ok, name="inbox")], "approvals"))),
    path("", include(([path("", _ok, name="home"), path("w/<slug:slug>/", _ok, name="workspace")], "studio"))),
    path("", include(([path("w/<slug:slug>/runs/<int:pk>/", _ok, name="run")], "runs"))),
    path(
        "",
        include(
            (
                [
                    path("w/<slug:slug>/variants/<int:pk>/publish/", _ok, name="variant_publish"),
                    path("w/<slug:slug>/publications/<int:pk>/", _ok, name="publication_detail"),
                ],
                "publishing",
            )
        ),
    ),
    path(
        "",
        include(([path("costs/", _ok, name="index"), path("w/<slug:slug>/costs/", _ok, name="dashboard")], "costs")),
    ),
]


# ---------------------------------------------------------------- helpers
class _Scan(HTMLParser):
    """Collects what the CSP would block: inline scripts, style attributes, <style> blocks, inline
    event handlers and javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.scripts: list[dict[str, str | None]] = []
        self._in_script_without_src = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script":
            self.scripts.append(attributes)
            if not attributes.get("src"):
                self._in_script_without_src = True
                self.problems.append("inline <script>")
        if tag == "style":
            self.problems.append("<style> block")
        for name, value in attrs:
            if name == "style":
                self.problems.append(f"style attribute on <{tag}>")
            if name.startswith("on"):
                self.problems.append(f"{name} handler on <{tag}>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"javascript: URL on <{tag}>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script_without_src = False


def assert_csp_clean(html: str) -> _Scan:
    assert 'style="' not in html
    scan = _Scan()
    scan.feed(html)
    assert scan.problems == []
    return scan


def _hex_to_luminance(value: str) -> float:
    value = value.lstrip("#")
    if len(value) == 3:
        value = "".join(ch * 2 for ch in value)
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((_hex_to_luminance(a), _hex_to_luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _tokens(block: str) -> dict[str, str]:
    return dict(re.findall(r"(--color-[\w-]+)\s*:\s*(#[0-9a-fA-F]{3,6})\s*;", block))


def _light_tokens() -> dict[str, str]:
    match = re.search(r"^:root\s*\{(.*?)^\}", CSS, re.S | re.M)
    assert match, "app.css must declare its tokens in a top-level :root block"
    return _tokens(match.group(1))


def _dark_tokens() -> dict[str, str]:
    match = re.search(r"@media \(prefers-color-scheme: dark\)\s*\{\s*:root\s*\{(.*?)\}", CSS, re.S)
    if not match:
        return {}
    return {**_light_tokens(), **_tokens(match.group(1))}


# (foreground, background, minimum): text pairs need 4.5:1, boundaries and focus rings 3:1.
TEXT = 4.5
UI = 3.0
PAIRS = [
    ("--color-text", "--color-bg", TEXT),
    ("--color-text", "--color-surface", TEXT),
    ("--color-text", "--color-surface-sunken", TEXT),
    ("--color-text-muted", "--color-bg", TEXT),
    ("--color-text-muted", "--color-surface", TEXT),
    ("--color-text-muted", "--color-surface-sunken", TEXT),
    ("--color-accent", "--color-surface", TEXT),
    ("--color-accent", "--color-bg", TEXT),
    ("--color-accent", "--color-accent-soft", TEXT),
    ("--color-on-accent", "--color-accent", TEXT),
    ("--color-on-accent", "--color-accent-hover", TEXT),
    ("--color-accent-hover", "--color-surface", TEXT),
    ("--color-on-danger", "--color-danger", TEXT),
    ("--color-on-danger", "--color-danger-hover", TEXT),
    ("--color-danger-text", "--color-danger-soft", TEXT),
    ("--color-danger-text", "--color-surface", TEXT),
    ("--color-success-text", "--color-success-soft", TEXT),
    ("--color-warning-text", "--color-warning-soft", TEXT),
    ("--color-info-text", "--color-info-soft", TEXT),
    ("--color-neutral-text", "--color-neutral-soft", TEXT),
    ("--color-on-mark", "--color-mark", TEXT),
    ("--color-text", "--color-accent-soft", TEXT),
    ("--color-border-strong", "--color-surface", UI),
    ("--color-border-strong", "--color-bg", UI),
    ("--color-focus", "--color-surface", UI),
    ("--color-focus", "--color-bg", UI),
    ("--color-focus", "--color-accent-soft", UI),
    ("--color-danger", "--color-surface", UI),
]

_BADGE_NAMES = """
    queued running retrying succeeded failed blocked ready in_review approved rejected changes_requested
    published superseded safety_pending pending allow review block offline overdue
"""
BADGE_STATUSES = _BADGE_NAMES.split()

_CONTRACT_NAMES = """
    page page-header page-actions stack cluster grid grid-2 grid-3 sidebar-layout muted small visually-hidden
    mono card card-header card-body card-footer callout callout-info callout-warning callout-danger callout-success
    btn btn-primary btn-secondary btn-danger btn-ghost btn-sm btn-block form-grid field help field-error
    input select textarea checkbox fieldset errorlist table table-wrap dl-grid badge thumb-grid thumb
    thumb-placeholder figure-frame lineage alert alert-error alert-success alert-info alert-warning progress
    progress-bar empty-state spinner htmx-indicator site-header site-nav nav-link pagination tabs toolbar kbd
    hit queue-row is-selected is-overdue compare comment-pin pin-layer
"""
CONTRACT_CLASSES = [
    *_CONTRACT_NAMES.split(),
    *[f"pw-{n}" for n in range(0, 101, 5)],
]


def _has_class_rule(name: str) -> bool:
    return re.search(rf"\.{re.escape(name)}(?![\w-])[^{{;]*\{{", CSS) is not None


@pytest.fixture
def rf_user(db):
    def make(path, user=None, **extra):
        request = RequestFactory().get(path, **extra)
        request.user = user or f.UserFactory()
        return request

    return make


# ---------------------------------------------------------------- rendered pages and the CSP
@pytest.mark.django_db
def test_login_page_renders_without_inline_script_or_style(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    html = response.content.decode()
    scan = assert_csp_clean(html)
    sources = [s.get("src") for s in scan.scripts]
    assert "/static/vendor/htmx.min.js" in sources
    assert "/static/js/app.js" in sources
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert '<html lang="en">' in html
    assert 'href="#main"' in html
    assert 'id="main"' in html
    assert 'name="username"' in html
    assert 'name="password"' in html
    assert "Demo logins" not in html  # only when the view passes demo_logins


@pytest.mark.django_db
def test_login_shows_demo_logins_only_when_given(rf_user):
    from django.contrib.auth.forms import AuthenticationForm
    from django.contrib.auth.models import AnonymousUser

    request = RequestFactory().get("/accounts/login/")
    request.user = AnonymousUser()
    demo = [{"username": "mia", "password": "pass-1234", "role": "Marketer"}]
    html = render_to_string(
        "registration/login.html", {"form": AuthenticationForm(request), "demo_logins": demo}, request=request
    )
    assert_csp_clean(html)
    assert "Demo logins" in html
    assert "mia" in html
    assert "pass-1234" in html
    assert "Marketer" in html


@pytest.mark.django_db
def test_wrong_password_is_explained_in_words(client):
    f.UserFactory(username="mia")
    response = client.post("/accounts/login/", {"username": "mia", "password": "wrong"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'role="alert"' in html
    assert "correct username and password" in html
    assert_csp_clean(html)


@pytest.mark.django_db
def test_styleguide_renders_every_component_under_the_csp(client):
    user = f.UserFactory(is_staff=True)
    client.force_login(user)
    response = client.get("/styleguide/")
    assert response.status_code == 200
    html = response.content.decode()
    assert_csp_clean(html)
    for needle in (
        "badge-changes_requested",
        "thumb-placeholder",
        "comment-pin",
        'class="pagination"',
        "empty-state",
        "<progress",
        "figure-frame",
        "queue-row is-selected",
        "$0.0042",
    ):
        assert needle in html


def test_htmx_config_disables_inline_indicator_styles_and_eval():
    html = (ROOT / "templates" / "base.html").read_text()
    match = re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", html)
    assert match
    config = json.loads(match.group(1))
    assert config["includeIndicatorStyles"] is False
    assert config["allowEval"] is False
    assert html.index('name="htmx-config"') < html.index("htmx.min.js")  # read before htmx loads


def test_vendored_htmx_is_2x_with_its_license_header():
    text = (ROOT / "static" / "vendor" / "htmx.min.js").read_text()
    assert re.match(r"/\*! htmx 2\.\d+\.\d+ .*license: 0BSD", text)
    assert 'version:"2.' in text
    assert (ROOT / "static" / "vendor" / "htmx.LICENSE.txt").exists()


# ---------------------------------------------------------------- header navigation
@pytest.mark.urls("tests.studio.test_ui_templates")
@pytest.mark.django_db
def test_header_shows_wired_links_marks_one_current_and_logs_out_by_post(rf_user):
    user = f.UserFactory(username="mia", is_staff=False)
    # A reviewer: the header hides links a person's roles cannot use (issue 14), e.g. the queue for a marketer.
    f.MembershipFactory(user=user, workspace=f.WorkspaceFactory(), role=f.core_models.Role.BRAND_REVIEWER)
    request = rf_user("/reviews/inbox/", user)
    html = render_to_string("base.html", {"nav_unread_count": 4}, request=request)
    assert_csp_clean(html)
    assert '<a class="nav-link" href="/">Studio</a>' in html
    assert 'href="/reviews/">Review queue</a>' in html
    assert "Compliance" not in html  # compliance:log is not wired in this URLconf: no dead link, no crash
    assert "/admin/" not in html  # staff only
    assert html.count("aria-current=") == 1
    assert 'href="/reviews/inbox/" aria-current="page">Inbox <span class="nav-count">4' in html
    logout = re.search(r'<form method="post" action="/accounts/logout/">(.*?)</form>', html, re.S)
    assert logout
    assert "csrfmiddlewaretoken" in logout.group(1)
    assert "mia" in html
    assert re.search(r"<body hx-headers='\{\"X-CSRFToken\": \"[\w-]+\"\}'>", html)


@pytest.mark.urls("tests.studio.test_ui_templates")
@pytest.mark.django_db
def test_studio_is_current_section_on_workspace_pages_and_admin_link_for_staff(rf_user):
    from django.urls import resolve

    request = rf_user("/w/acme/", f.UserFactory(is_staff=True))
    request.resolver_match = resolve("/w/acme/")
    html = render_to_string("base.html", {}, request=request)
    assert 'href="/" aria-current="true">Studio' in html
    assert 'href="/admin/">Admin</a>' in html


def _header(rf_user, path, user):
    from django.urls import resolve

    request = rf_user(path, user)
    request.resolver_match = resolve(path)
    html = render_to_string("base.html", {}, request=request)
    start = html.index('aria-label="Main"')
    return html[start : html.index("</nav>", start)]


@pytest.mark.urls("tests.studio.test_ui_templates")
@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/w/acme/runs/3/", "/w/acme/variants/5/publish/", "/w/acme/publications/4/"])
def test_studio_is_the_current_section_on_run_and_publishing_pages(rf_user, path):
    user = f.UserFactory()
    f.MembershipFactory(user=user, workspace=f.WorkspaceFactory(), role=f.core_models.Role.MARKETER)
    nav = _header(rf_user, path, user)
    assert 'href="/" aria-current="true">Studio' in nav
    assert nav.count("aria-current=") == 1


@pytest.mark.urls("tests.studio.test_ui_templates")
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "shown"),
    [
        (f.core_models.Role.MARKETER, True),
        (f.core_models.Role.ADMIN, True),
        (f.core_models.Role.BRAND_REVIEWER, False),
        (f.core_models.Role.COMPLIANCE, False),
    ],
)
def test_costs_is_in_the_header_only_for_the_roles_that_may_see_costs(rf_user, role, shown):
    user = f.UserFactory()
    f.MembershipFactory(user=user, workspace=f.WorkspaceFactory(), role=role)
    nav = _header(rf_user, "/reviews/inbox/", user)
    assert ('href="/costs/">Costs</a>' in nav) is shown


@pytest.mark.urls("tests.studio.test_ui_templates")
@pytest.mark.django_db
def test_costs_is_the_current_section_on_cost_pages(rf_user):
    user = f.UserFactory()
    f.MembershipFactory(user=user, workspace=f.WorkspaceFactory(), role=f.core_models.Role.MARKETER)
    assert 'href="/costs/" aria-current="page">Costs' in _header(rf_user, "/costs/", user)
    nav = _header(rf_user, "/w/acme/costs/", user)
    assert 'href="/costs/" aria-current="true">Costs' in nav
    assert nav.count("aria-current=") == 1


# ---------------------------------------------------------------- partials and filters
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("49.6471"), "$49.65"),
        (Decimal("0.0421"), "$0.04"),
        (Decimal("0.04"), "$0.04"),
        (Decimal("12.5000"), "$12.50"),
        (Decimal("1250"), "$1,250.00"),
        (Decimal("0.0042"), "$0.0042"),
        (Decimal("0.00004"), "$0.000040"),
        (Decimal("0.16705"), "$0.17"),
        (Decimal("0"), "$0.00"),
        (Decimal("-0.5"), "-$0.50"),
        ("3.1", "$3.10"),
        (None, "—"),
        ("not money", "—"),
    ],
)
def test_money_is_to_the_cent_with_sub_cent_amounts_kept_meaningful(value, expected):
    assert money(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [(0, "pw-0"), (33, "pw-35"), (62.4, "pw-60"), (140, "pw-100"), (-3, "pw-0"), (None, "pw-0")]
)
def test_progress_step_snaps_to_classes_that_exist(value, expected):
    assert progress_step(value) == expected
    assert _has_class_rule(expected)


def test_pagination_keeps_other_query_params_and_every_link_has_href():
    request = RequestFactory().get("/reviews/", {"stage": "brand", "q": "lemon", "page": "5"})
    page_obj = Paginator(range(200), 10).get_page(5)
    html = render_to_string("partials/pagination.html", {"page_obj": page_obj, "request": request})
    links = re.findall(r"<a ([^>]*)>", html)
    assert links
    assert all('href="?' in attrs for attrs in links)
    assert 'href="?stage=brand&amp;q=lemon&amp;page=4" rel="prev"' in html
    assert 'href="?stage=brand&amp;q=lemon&amp;page=6" rel="next"' in html
    assert re.search(r'page=5" aria-current="page"', html)
    assert "&hellip;" in html  # 20 pages are elided, not listed
    assert "Showing 41–50 of 200" in html


def test_pagination_is_absent_for_a_single_page():
    page_obj = Paginator(range(5), 10).get_page(1)
    html = render_to_string("partials/pagination.html", {"page_obj": page_obj, "request": RequestFactory().get("/")})
    assert "pagination" not in html


def test_empty_state_shows_action_only_with_url_and_label():
    with_action = render_to_string(
        "partials/empty_state.html",
        {"title": "No drafts yet", "text": "Write one.", "action_url": "/new/", "action_label": "New draft"},
    )
    assert "No drafts yet" in with_action
    assert 'href="/new/"' in with_action
    assert "New draft" in with_action
    without = render_to_string("partials/empty_state.html", {"title": "No drafts yet", "action_url": "/new/"})
    assert "href" not in without


def test_progress_partial_uses_a_native_progress_element_clamped():
    html = render_to_string("partials/progress.html", {"value": 130, "label": "Generating"})
    assert '<progress class="progress" max="100" value="100"' in html
    assert "Generating" in html
    assert_csp_clean(html)


def test_status_badge_tag_and_partial_agree():
    tag = Template('{% load ui %}{% status_badge "changes_requested" %}').render(Context())
    assert tag.strip() == '<span class="badge badge-changes_requested">Changes requested</span>'
    partial = render_to_string("partials/status_badge.html", {"status": "approved", "label": "Approved"})
    assert partial.strip() == '<span class="badge badge-approved">Approved</span>'


@pytest.mark.django_db
def test_messages_partial_uses_alert_role_for_errors_and_status_otherwise(client):
    from django.contrib.messages import constants
    from django.contrib.messages.storage.base import Message

    html = render_to_string(
        "partials/messages.html",
        {"messages": [Message(constants.SUCCESS, "Saved."), Message(constants.ERROR, "Could not save.")]},
    )
    assert re.search(r'alert-success alert-dismissible" role="status">\s*<div class="alert-body">Saved.', html)
    assert re.search(r'alert-error alert-dismissible" role="alert">\s*<div class="alert-body">Could not save.', html)
    assert 'data-dismiss="alert"' in html


# ---------------------------------------------------------------- stylesheet contracts
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_declared_colour_pairs_meet_wcag_aa(theme):
    tokens = _light_tokens() if theme == "light" else _dark_tokens()
    assert tokens, f"no {theme} tokens found"
    failures = []
    for fg, bg, minimum in PAIRS:
        assert fg in tokens, f"{theme}: {fg} is not declared"
        assert bg in tokens, f"{theme}: {bg} is not declared"
        ratio = contrast(tokens[fg], tokens[bg])
        if ratio < minimum:
            failures.append(f"{fg} on {bg}: {ratio:.2f} < {minimum}")
    assert failures == []


def test_contrast_helper_matches_known_values():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic just-fails grey


@pytest.mark.parametrize("status", BADGE_STATUSES)
def test_every_status_has_a_badge_class(status):
    assert _has_class_rule(f"badge-{status}")


@pytest.mark.parametrize("name", CONTRACT_CLASSES)
def test_contract_class_is_styled(name):
    assert _has_class_rule(name)


def test_focus_ring_and_reduced_motion_are_handled():
    assert re.search(r":focus-visible\s*\{[^}]*outline:[^}]*--color-focus", CSS)
    assert "@media (prefers-reduced-motion: reduce)" in CSS
    assert re.search(r"\.thumb-placeholder\s*\{\s*animation:\s*none", CSS)
