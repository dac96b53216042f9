"""Admin: configuration changes are audited; the deployment "test connection" action reports in words."""

from __future__ import annotations

import pytest
from django.urls import reverse

from studio.core.models import AuditEvent
from studio.generation.services import SAFETY_SETTING_FIELDS, workspace_settings_changed
from tests import factories as f


@pytest.fixture
def superuser(db):
    return f.UserFactory(username="root", is_staff=True, is_superuser=True)


def _snapshot(workspace):
    return {field: getattr(workspace, field) for field in SAFETY_SETTING_FIELDS}


def test_switching_to_fail_open_is_audited(workspace, superuser):
    before = _snapshot(workspace)
    workspace.safety_fail_open = True
    workspace.save()
    changes = workspace_settings_changed(actor=superuser, workspace=workspace, before=before)
    assert changes == {"safety_fail_open": {"before": False, "after": True}}
    event = AuditEvent.objects.get(action="studio.workspace.fail_open_enabled")
    assert event.actor == superuser
    assert event.data["changes"]["safety_fail_open"]["after"] is True


def test_unchanged_settings_write_nothing(workspace, superuser):
    assert workspace_settings_changed(actor=superuser, workspace=workspace, before=_snapshot(workspace)) == {}
    assert not AuditEvent.objects.exists()


def test_blocklist_change_queues_the_azure_sync(workspace, superuser, django_capture_on_commit_callbacks, monkeypatch):
    calls = []
    monkeypatch.setattr("studio.safety.tasks.safety_blocklist_sync.delay", lambda pk: calls.append(pk))
    workspace.safety_screeners = ["azure"]
    workspace.save()
    before = _snapshot(workspace)
    workspace.blocklist_terms = ["rivalcola"]
    workspace.save()
    with django_capture_on_commit_callbacks(execute=True):
        workspace_settings_changed(actor=superuser, workspace=workspace, before=before)
    assert calls == [workspace.pk]
    assert AuditEvent.objects.filter(action="studio.workspace.settings_changed").count() == 1


def test_test_connection_action_reports_latency_and_size(client, superuser, offline_deployment):
    client.force_login(superuser)
    response = client.post(
        reverse("admin:studio_deployment_changelist"),
        {"action": "test_connection", "_selected_action": [offline_deployment.pk]},
        follow=True,
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "Offline: Connected" in text  # the admin capitalises messages
    assert "latency" in text
    assert "asked for" in text


def test_admin_pages_render(client, superuser, offline_deployment, workspace):
    client.force_login(superuser)
    for name, args in [
        ("admin:core_workspace_change", [workspace.pk]),
        ("admin:studio_deployment_change", [offline_deployment.pk]),
        ("admin:studio_generationjob_changelist", []),
        ("admin:approvals_review_changelist", []),
    ]:
        assert client.get(reverse(name, args=args)).status_code == 200, name
