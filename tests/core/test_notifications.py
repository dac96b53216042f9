"""Notifications are core's: an in-app notice now, its email only after the change commits."""

from __future__ import annotations

import pytest
from django.core import mail

from studio.core.notifications import notification_send, notifications_mark_read
from studio.core.tasks import notification_email

pytestmark = pytest.mark.django_db


def test_the_email_task_keeps_its_name():
    assert notification_email.name == "approvals.tasks.notification_email"


def test_the_email_goes_out_after_commit_only(workspace, reviewer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notice = notification_send(
            user=reviewer, workspace=workspace, kind="review.assigned", text="A review waits", url="/x/", email=True
        )
        assert mail.outbox == []
    assert len(callbacks) == 1
    assert [m.to for m in mail.outbox] == [[reviewer.email]]
    assert "Open it in Imprimatur: /x/" in mail.outbox[0].body
    assert notifications_mark_read(actor=reviewer, ids=[notice.pk]) == 1
    assert notifications_mark_read(actor=reviewer) == 0
