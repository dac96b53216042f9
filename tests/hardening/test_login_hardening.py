"""Issue 10: login throttling (django-axes), failed sign-ins audited per workspace, password validators."""

from __future__ import annotations

import weakref

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse

from studio.core.models import AuditEvent
from tests import factories as f

pytestmark = pytest.mark.django_db


def _post_login(client, url, username, password):
    return client.post(url, {"username": username, "password": password})


def test_sixty_wrong_passwords_then_the_right_one_does_not_log_in(client, marketer):
    url = reverse("login")
    for _ in range(60):
        _post_login(client, url, "mia", "wrong-password-guess")
    response = _post_login(client, url, "mia", "pw-correct-horse")
    assert "_auth_user_id" not in client.session
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()


def test_admin_login_is_throttled_too(client):
    f.UserFactory(username="op", is_staff=True, is_superuser=True)
    url = reverse("admin:login")
    for _ in range(10):
        client.post(url, {"username": "op", "password": "nope-nope-nope", "next": "/admin/"})
    client.post(url, {"username": "op", "password": "pw-correct-horse", "next": "/admin/"})
    assert "_auth_user_id" not in client.session


def test_right_password_after_a_few_failures_still_logs_in(client, marketer):
    url = reverse("login")
    for _ in range(3):
        _post_login(client, url, "mia", "wrong-password-guess")
    _post_login(client, url, "mia", "pw-correct-horse")
    assert client.session["_auth_user_id"] == str(marketer.pk)


def test_failed_login_is_audited_in_each_workspace_of_the_user_and_logged(client, marketer, workspace, caplog):
    other = f.WorkspaceFactory(slug="other", name="Other")
    f.MembershipFactory(user=marketer, workspace=other, role=f.core_models.Role.MARKETER)
    with caplog.at_level("WARNING", logger="imprimatur.auth"):
        _post_login(client, reverse("login"), "mia", "wrong-password-guess")
    events = AuditEvent.objects.filter(action="core.login.failed")
    assert sorted(e.workspace.slug for e in events) == ["acme", "other"]
    event = events.first()
    assert event.subject_type == "auth.user"
    assert event.subject_id == str(marketer.pk)
    assert event.data["username"] == "mia"
    assert "wrong-password-guess" not in str(event.data)
    assert any("mia" in r.getMessage() for r in caplog.records)
    assert not any("wrong-password-guess" in r.getMessage() for r in caplog.records)


def test_failed_login_for_unknown_user_writes_no_audit_event(client, workspace):
    _post_login(client, reverse("login"), "nobody", "wrong-password-guess")
    assert not AuditEvent.objects.filter(action="core.login.failed").exists()


@pytest.mark.parametrize("password", ["password", "12345678", "Password1"])
def test_weak_passwords_are_refused(password):
    with pytest.raises(ValidationError):
        validate_password(password)


def test_a_long_uncommon_password_passes():
    validate_password("tangerine-lighthouse-42")


def test_production_settings_keep_the_validators(monkeypatch):
    import importlib
    import os

    os.environ.setdefault("DJANGO_SECRET_KEY", "x" * 60)
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "example.com")
    monkeypatch.setenv("CACHE_URL", "redis://127.0.0.1:6379/1")  # production needs a shared cache
    production = importlib.import_module("studio.settings.production")
    names = [v["NAME"].rsplit(".", 1)[1] for v in production.AUTH_PASSWORD_VALIDATORS]
    assert {"CommonPasswordValidator", "NumericPasswordValidator", "MinimumLengthValidator"} <= set(names)
    minimum = next(v for v in production.AUTH_PASSWORD_VALIDATORS if v["NAME"].endswith("MinimumLengthValidator"))
    assert minimum["OPTIONS"]["min_length"] == 12


def test_failures_are_audited_up_to_the_lockout_and_the_rest_only_logged(client, marketer, settings, caplog):
    """An attempt made while locked out still sends user_login_failed; auditing each let anyone append to
    a workspace's chain without limit. Only the failures up to and including the locking one are."""
    url = reverse("login")
    with caplog.at_level("WARNING", logger="imprimatur.auth"):
        for _ in range(settings.AXES_FAILURE_LIMIT + 20):
            _post_login(client, url, "mia", "wrong-password-guess")
        response = _post_login(client, url, "mia", "pw-correct-horse")  # still locked out
    assert response.status_code == 429
    events = AuditEvent.objects.filter(action="core.login.failed").order_by("pk")
    assert events.count() == settings.AXES_FAILURE_LIMIT
    assert [e.data["locked_out"] for e in events] == [False] * (settings.AXES_FAILURE_LIMIT - 1) + [True]
    logged = [r.getMessage() for r in caplog.records if "username='mia'" in r.getMessage()]
    assert len(logged) == settings.AXES_FAILURE_LIMIT + 21  # every attempt is still logged
    assert sum("already locked out: not audited" in m for m in logged) == 21


def test_the_lockout_count_is_read_after_axes_has_counted_the_failure():
    from axes.signals import handle_user_login_failed
    from django.contrib.auth.signals import user_login_failed

    from studio.core.login_guard.receivers import login_failed_record

    refs = [entry[1] for entry in user_login_failed.receivers]
    live = [ref() if isinstance(ref, weakref.ReferenceType) else ref for ref in refs]
    assert live.index(handle_user_login_failed) < live.index(login_failed_record)
