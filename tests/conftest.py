"""Shared fixtures. Unit tests run with the network off and media in a temp dir."""

from __future__ import annotations

import socket

import pytest

from tests import factories as f


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": str(tmp_path / "media"), "base_url": "/media/"}},
    }


@pytest.fixture(autouse=True)
def _no_network(request, monkeypatch):
    """Unit tests must not reach any host but loopback; integration and browser tests may."""
    if request.node.get_closest_marker("integration") or request.node.get_closest_marker("browser"):
        return
    real_connect = socket.socket.connect

    def guarded(sock, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in ("127.0.0.1", "localhost", "::1") and not host.startswith("/"):
            raise RuntimeError(f"unit tests may not open network connections (tried {address!r})")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def workspace(db):
    return f.WorkspaceFactory(slug="acme", name="Acme")


@pytest.fixture
def profile(db):
    return f.CapabilityProfileFactory()


@pytest.fixture
def price_table(db):
    return f.PriceTableFactory()


def _member(workspace, username, role):
    user = f.UserFactory(username=username)
    f.MembershipFactory(user=user, workspace=workspace, role=role)
    return user


@pytest.fixture
def marketer(workspace):
    return _member(workspace, "mia", f.sm.Role.MARKETER)


@pytest.fixture
def reviewer(workspace):
    return _member(workspace, "rob", f.sm.Role.BRAND_REVIEWER)


@pytest.fixture
def compliance(workspace):
    return _member(workspace, "cora", f.sm.Role.COMPLIANCE)


@pytest.fixture
def ws_admin(workspace):
    return _member(workspace, "ada", f.sm.Role.ADMIN)


@pytest.fixture
def campaign(workspace):
    return f.CampaignFactory(workspace=workspace, slug="spring", name="Spring launch")


@pytest.fixture
def ad_format(campaign):
    return f.CampaignFormatFactory(campaign=campaign, name="LinkedIn ad", width=1200, height=628)


@pytest.fixture
def offline_deployment(workspace, profile, price_table):
    return f.DeploymentFactory(workspace=workspace, profile=profile, name="offline", is_default=True)
