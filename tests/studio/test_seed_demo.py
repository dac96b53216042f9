"""`make run` seeds demo data on every start: it must be idempotent and print one login per role."""

from __future__ import annotations

from io import StringIO

from django.contrib.auth import get_user_model
from django.core.management import call_command

from studio.core.models import Membership, Role, Workspace
from studio.generation.models import Campaign, CampaignFormat, Deployment


def test_seed_demo_is_idempotent_and_prints_logins(db):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=StringIO())
    assert Workspace.objects.filter(slug="demo").count() == 1
    assert Campaign.objects.count() == 1
    assert CampaignFormat.objects.count() == 3
    assert Deployment.objects.filter(provider="offline", is_default=True).count() == 1
    assert set(Membership.objects.values_list("role", flat=True)) == set(Role.values)
    text = out.getvalue()
    for username in ("marketer", "reviewer", "compliance", "admin"):
        assert f"{username:<11} / {username}-demo-pass" in text
        assert get_user_model().objects.get(username=username).check_password(f"{username}-demo-pass")


def test_login_page_lists_demo_logins_only_when_enabled(client, db, settings):
    call_command("seed_demo", quiet=True)
    settings.IMPRIMATUR_SHOW_DEMO_LOGINS = True
    assert "reviewer-demo-pass" in client.get("/accounts/login/").content.decode()
    settings.IMPRIMATUR_SHOW_DEMO_LOGINS = False
    assert "reviewer-demo-pass" not in client.get("/accounts/login/").content.decode()
