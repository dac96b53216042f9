"""Endpoint URLs in production: https only, public addresses only (SSRF), checked again at send time."""

from __future__ import annotations

import pytest

from approvals.webhooks import urlcheck
from approvals.webhooks.urlcheck import url_problem


@pytest.fixture
def production(settings):
    settings.IMPRIMATUR_WEBHOOK_ALLOW_LOCAL_URLS = False


@pytest.mark.usefixtures("production")
@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://93.184.216.34/hook", "https://"),
        ("https://127.0.0.1/hook", "loopback"),
        ("https://[::1]/hook", "loopback"),
        ("https://10.1.2.3/hook", "private"),
        ("https://192.168.0.10/hook", "private"),
        ("https://172.16.5.5/hook", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://[fe80::1]/hook", "link-local"),
        ("https://0.0.0.0/hook", "public addresses only"),
        ("https://[::ffff:127.0.0.1]/hook", "loopback"),
        ("https://user:pw@93.184.216.34/hook", "credentials"),
        ("ftp://93.184.216.34/hook", "https://"),
        ("", "address"),
    ],
)
def test_refused_in_production(url, words):
    problem = url_problem(url)
    assert problem is not None
    assert words in problem


@pytest.mark.usefixtures("production")
def test_public_address_is_accepted():
    assert url_problem("https://93.184.216.34/hook") is None


@pytest.mark.usefixtures("production")
def test_host_names_are_resolved_and_every_address_checked(monkeypatch):
    monkeypatch.setattr(urlcheck, "resolve", lambda host, port: ["93.184.216.34", "10.0.0.7"])
    assert "private" in url_problem("https://hooks.example.com/x")
    monkeypatch.setattr(urlcheck, "resolve", lambda host, port: ["93.184.216.34"])
    assert url_problem("https://hooks.example.com/x") is None


@pytest.mark.usefixtures("production")
def test_unresolvable_host_is_refused(monkeypatch):
    import socket

    def fail(host, port):
        raise socket.gaierror("no such host")

    monkeypatch.setattr(urlcheck, "resolve", fail)
    assert "could not be found" in url_problem("https://nowhere.invalid/x")


def test_local_urls_allowed_in_tests_and_development(settings):
    settings.IMPRIMATUR_WEBHOOK_ALLOW_LOCAL_URLS = True
    assert url_problem("http://127.0.0.1:8123/hook") is None


def test_production_settings_do_not_allow_local_urls():
    from studio.settings import base

    assert base.IMPRIMATUR_WEBHOOK_ALLOW_LOCAL_URLS is False
