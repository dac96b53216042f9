"""The Django admin keeps a workspace admin inside their workspaces; operators (superusers) see everything.
Deployment keys come only from variables set aside for them, and Test connection never shows a key."""

from __future__ import annotations

from functools import partial
from io import StringIO

import httpx2
import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from approvals.reviews.models import Comment, Review, StagePolicy
from studio.core.models import AuditEvent, Membership, Role
from studio.generation import admin as studio_admin
from studio.generation.models import Deployment
from studio.lib.providers.connection import deployment_test_connection
from tests import factories as f
from tests.contract.recording import Recorder

KEY = "sk-live-0123456789abcdefSECRET"


@pytest.fixture
def demo(db):
    return f.WorkspaceFactory(slug="demo", name="Demo")


@pytest.fixture
def other(db):
    return f.WorkspaceFactory(slug="other", name="Rivalco Brand")


@pytest.fixture
def demo_admin(demo):
    user = f.UserFactory(username="admin", is_staff=True, is_superuser=False)
    f.MembershipFactory(user=user, workspace=demo, role=Role.ADMIN)
    return user


@pytest.fixture
def operator(db):
    return f.UserFactory(username="root", is_staff=True, is_superuser=True)


def _content(workspace, profile):
    """A draft, variant, review, comment, deployment and campaign in ``workspace``."""
    author = f.UserFactory()
    f.MembershipFactory(user=author, workspace=workspace, role=Role.MARKETER)
    campaign = f.CampaignFactory(workspace=workspace)
    draft = f.PromptDraftFactory(workspace=workspace, campaign=campaign, created_by=author)
    deployment = f.DeploymentFactory(workspace=workspace, profile=profile, name=f"offline-{workspace.slug}")
    version = f.DraftVersionFactory(draft=draft)
    job = f.GenerationJobFactory(draft_version=version, deployment=deployment)
    variant = f.VariantFactory(workspace=workspace, job=job, draft=draft, created_by=author)
    review = Review.objects.create(workspace=workspace, variant=variant, submitted_by=author)
    comment = Comment.objects.create(variant=variant, author=author, text="Too dark")
    policy = StagePolicy.objects.create(workspace=workspace, kind="brand")
    return {
        "studio_promptdraft": draft,
        "studio_campaign": campaign,
        "studio_deployment": deployment,
        "studio_variant": variant,
        "approvals_review": review,
        "approvals_comment": comment,
        "approvals_stagepolicy": policy,
        "core_workspace": workspace,
    }


def test_seeded_workspace_admin_is_staff_but_not_superuser(db):
    call_command("seed_demo", quiet=True, stdout=StringIO())
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_staff
    assert not admin.is_superuser


def test_workspace_admin_cannot_open_or_change_another_workspace(client, demo, other, demo_admin, profile):
    theirs = _content(other, profile)
    mine = _content(demo, profile)
    client.force_login(demo_admin)
    for name, obj in theirs.items():
        url = reverse(f"admin:{name}_change", args=[obj.pk])
        assert client.get(url).status_code in (302, 403, 404), name
        assert client.post(url, {}).status_code in (302, 403, 404), name
        listing = client.get(reverse(f"admin:{name}_changelist"))
        assert listing.status_code == 200, name
        assert reverse(f"admin:{name}_change", args=[obj.pk]) not in listing.content.decode(), name
        assert "Rivalco Brand" not in listing.content.decode(), name  # not even in the list filters
    for name, obj in mine.items():
        assert client.get(reverse(f"admin:{name}_change", args=[obj.pk])).status_code == 200, name
    # the redirect case above is "object does not exist" back to the admin index, never the object
    response = client.get(reverse("admin:approvals_comment_change", args=[theirs["approvals_comment"].pk]))
    assert "Too dark" not in response.content.decode()


def test_membership_in_another_workspace_is_refused(client, demo, other, demo_admin):
    client.force_login(demo_admin)
    response = client.post(
        reverse("admin:core_membership_add"),
        {"user": demo_admin.pk, "workspace": other.pk, "role": Role.COMPLIANCE},
    )
    assert response.status_code == 200  # the form again, with an error
    assert "Select a valid choice" in response.content.decode()
    assert not Membership.objects.filter(workspace=other).exists()
    # nor through the other workspace's page (its membership inline)
    response = client.post(
        reverse("admin:core_workspace_change", args=[other.pk]),
        {
            "name": other.name,
            "slug": other.slug,
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "0",
            "memberships-0-user": demo_admin.pk,
            "memberships-0-role": Role.COMPLIANCE,
        },
    )
    assert response.status_code in (302, 403, 404)
    assert not Membership.objects.filter(workspace=other).exists()


def test_membership_added_in_own_workspace_is_audited(client, demo, demo_admin):
    colleague = f.UserFactory(username="mia")
    f.MembershipFactory(user=colleague, workspace=demo, role=Role.MARKETER)
    client.force_login(demo_admin)
    response = client.post(
        reverse("admin:core_membership_add"),
        {"user": colleague.pk, "workspace": demo.pk, "role": Role.BRAND_REVIEWER},
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="studio.membership.changed")
    assert event.workspace == demo
    assert event.actor == demo_admin
    assert event.data["action"] == "added"
    assert event.data["role"] == Role.BRAND_REVIEWER


def test_campaign_budget_change_is_audited(client, demo, demo_admin):
    campaign = f.CampaignFactory(workspace=demo, name="Spring", slug="spring", budget="50")
    client.force_login(demo_admin)
    form = client.get(reverse("admin:studio_campaign_change", args=[campaign.pk])).context["adminform"].form
    data = {k: ("" if v is None else v) for k, v in form.initial.items() if k in form.fields}
    data.update(
        {
            "workspace": demo.pk,
            "budget": "75",
            "formats-TOTAL_FORMS": "0",
            "formats-INITIAL_FORMS": "0",
        }
    )
    data = {k: v for k, v in data.items() if not isinstance(v, list) or v}
    data["locales"] = '["en"]'
    response = client.post(reverse("admin:studio_campaign_change", args=[campaign.pk]), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    event = AuditEvent.objects.get(action="studio.campaign.changed")
    assert event.data["changes"]["budget"]["after"] == "75"
    assert event.workspace == demo


def test_operator_still_sees_every_workspace(client, demo, other, operator, profile):
    theirs = _content(other, profile)
    client.force_login(operator)
    for name, obj in theirs.items():
        assert client.get(reverse(f"admin:{name}_change", args=[obj.pk])).status_code == 200, name


def test_global_tables_are_read_only_for_workspace_admins(client, demo_admin, profile, operator):
    client.force_login(demo_admin)
    url = reverse("admin:studio_capabilityprofile_change", args=[profile.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"name": "hijacked"}).status_code == 403
    assert client.get(reverse("admin:studio_capabilityprofile_add")).status_code == 403
    profile.refresh_from_db()
    assert profile.name != "hijacked"


# --- secret_env and endpoints --------------------------------------------------------------------------


def _deployment(workspace, profile, **kw) -> Deployment:
    fields = {
        "workspace": workspace,
        "name": "foundry",
        "provider": "openai",
        "endpoint": "https://api.openai.com/v1",
        "model": "gpt-image-2",
        "secret_env": "IMPRIMATUR_KEY_OPENAI",
        "profile": profile,
        **kw,
    }
    return Deployment(**fields)


def test_secret_env_must_be_a_key_variable(demo, profile, settings):
    _deployment(demo, profile).full_clean()
    with pytest.raises(ValidationError) as caught:
        _deployment(demo, profile, secret_env="DJANGO_SECRET_KEY").full_clean()
    assert "signing key" in str(caught.value.message_dict["secret_env"])
    with pytest.raises(ValidationError) as caught:
        _deployment(demo, profile, secret_env="DATABASE_PASSWORD").full_clean()
    assert "IMPRIMATUR_KEY_" in str(caught.value.message_dict["secret_env"])
    settings.IMPRIMATUR_SECRET_ENV_ALLOWLIST = ["AZURE_OPENAI_KEY"]
    _deployment(demo, profile, secret_env="AZURE_OPENAI_KEY").full_clean()


def test_deployment_upsert_refuses_django_secret_key(demo):
    with pytest.raises(CommandError, match="DJANGO_SECRET_KEY"):
        call_command(
            "deployment_upsert",
            *("--workspace", "demo", "--name", "x", "--provider", "openai"),
            *("--endpoint", "https://api.openai.com/v1", "--secret-env", "DJANGO_SECRET_KEY"),
            stdout=StringIO(),
        )
    assert not Deployment.objects.exists()


def test_plain_http_endpoints_are_refused_unless_allowed(demo, profile, settings):
    settings.IMPRIMATUR_ALLOW_HTTP_ENDPOINTS = False
    with pytest.raises(ValidationError) as caught:
        _deployment(demo, profile, endpoint="http://attacker.example/v1").full_clean()
    assert "https" in str(caught.value.message_dict["endpoint"])
    settings.IMPRIMATUR_ALLOW_HTTP_ENDPOINTS = True
    _deployment(demo, profile, endpoint="http://127.0.0.1:9000/v1").full_clean()


def _echo_authorization(request: httpx2.Request) -> httpx2.Response:
    """An attacker's server: a 400 whose error message repeats the Authorization header."""
    return httpx2.Response(
        400, json={"error": {"message": f"bad size; you sent Authorization: {request.headers['authorization']}"}}
    )


def test_test_connection_never_echoes_the_key(demo, profile, monkeypatch):
    monkeypatch.setenv("IMPRIMATUR_KEY_OPENAI", KEY)
    recorder = Recorder(_echo_authorization)
    report = deployment_test_connection(deployment=_deployment(demo, profile), http_client=recorder.client())
    assert recorder.last.headers["authorization"] == f"Bearer {KEY}"  # it was sent to the endpoint...
    assert not report.ok
    assert KEY not in report.message  # ...but never shown
    assert KEY[:12] not in report.message
    assert "[redacted]" in report.message


def test_admin_test_connection_action_never_echoes_the_key(client, demo, demo_admin, profile, monkeypatch):
    monkeypatch.setenv("IMPRIMATUR_KEY_OPENAI", KEY)
    deployment = _deployment(demo, profile)
    deployment.save()
    recorder = Recorder(_echo_authorization)
    monkeypatch.setattr(
        studio_admin,
        "deployment_test_connection",
        partial(deployment_test_connection, http_client=recorder.client()),
    )
    client.force_login(demo_admin)
    response = client.post(
        reverse("admin:studio_deployment_changelist"),
        {"action": "test_connection", "_selected_action": [deployment.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert len(recorder.requests) == 1
    text = response.content.decode()
    assert "foundry:" in text.lower()
    assert KEY not in text
    assert KEY[:12] not in text


def test_deployment_change_in_admin_is_audited(client, demo, demo_admin, profile):
    deployment = _deployment(demo, profile)
    deployment.save()
    client.force_login(demo_admin)
    url = reverse("admin:studio_deployment_change", args=[deployment.pk])
    form = client.get(url).context["adminform"].form
    data = {k: ("" if v is None else v) for k, v in form.initial.items() if k in form.fields}
    data.update({"workspace": demo.pk, "profile": profile.pk, "model": "gpt-image-1.5", "routing": "{}"})
    data = {k: v for k, v in data.items() if v is not False}
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    event = AuditEvent.objects.get(action="studio.deployment.updated")
    assert event.data["changes"]["model"] == "gpt-image-1.5"
    assert event.data["via"] == "admin"
    assert KEY not in str(event.data)


def test_stage_policy_change_is_audited_and_assignees_are_members_only(client, demo, other, demo_admin):
    reviewer = f.UserFactory(username="rob")
    f.MembershipFactory(user=reviewer, workspace=demo, role=Role.BRAND_REVIEWER)
    outsider = f.UserFactory(username="eve")
    f.MembershipFactory(user=outsider, workspace=other, role=Role.BRAND_REVIEWER)
    client.force_login(demo_admin)
    add = reverse("admin:approvals_stagepolicy_add")
    form = client.get(add).context["adminform"].form
    assert set(form.fields["assignees"].queryset) == {demo_admin, reviewer}
    assert set(form.fields["workspace"].queryset) == {demo}
    data = {
        "workspace": demo.pk,
        "kind": "brand",
        "rule": form.fields["rule"].initial or "any",
        "assignees": [reviewer.pk],
    }
    data = {**{k: v for k, v in form.initial.items() if v is not None and k in form.fields}, **data}
    response = client.post(add, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    event = AuditEvent.objects.get(action="approvals.stage_policy.changed")
    assert event.workspace == demo
    assert event.data["action"] == "added"
    assert event.data["changes"]["assignees"]["after"] == [reviewer.pk]


def test_membership_inline_change_on_own_workspace_is_audited(client, demo, demo_admin):
    colleague = f.UserFactory(username="mia")
    membership = f.MembershipFactory(user=colleague, workspace=demo, role=Role.MARKETER)
    client.force_login(demo_admin)
    url = reverse("admin:core_workspace_change", args=[demo.pk])
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {}
    for key, value in form.initial.items():
        if key not in form.fields or value is None or value is False:
            continue
        data[key] = value if not isinstance(value, list | dict) else __import__("json").dumps(value)
    admin_membership = Membership.objects.get(user=demo_admin, workspace=demo)
    rows = [admin_membership, membership]
    data.update({"memberships-TOTAL_FORMS": str(len(rows)), "memberships-INITIAL_FORMS": str(len(rows))})
    for i, row in enumerate(rows):
        data.update(
            {
                f"memberships-{i}-id": row.pk,
                f"memberships-{i}-workspace": demo.pk,
                f"memberships-{i}-user": row.user_id,
                f"memberships-{i}-role": Role.COMPLIANCE if row == membership else row.role,
            }
        )
    response = client.post(url, data)
    assert response.status_code == 302, [
        response.context["adminform"].form.errors,
        response.context["inline_admin_formsets"][0].formset.errors,
    ]
    event = AuditEvent.objects.get(action="studio.membership.changed")
    assert event.data["action"] == "changed"
    assert event.data["changes"]["role"] == {"before": Role.MARKETER, "after": Role.COMPLIANCE}
