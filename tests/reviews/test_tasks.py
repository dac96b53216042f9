"""Tasks: thin, idempotent, enqueued only on commit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from approvals.reviews import services, tasks
from approvals.reviews.models import ReviewStage
from studio.core.models import Notification
from tests.approvals.factories_reviews import variant_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def submitted(workspace, marketer, reviewer, campaign):
    variant = variant_for(workspace, creator=marketer, campaign=campaign)
    return services.variant_submit(actor=marketer, variant=variant)


def test_reminders_email_assignees_once_and_escalate(
    submitted, reviewer, ws_admin, workspace, django_capture_on_commit_callbacks
):
    stage = submitted.stages.get()
    ReviewStage.objects.filter(pk=stage.pk).update(due_at=timezone.now() - timedelta(hours=1))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.reviews_send_reminders() == {"reminded": 1, "escalated": 0}
    assert [m.to for m in mail.outbox] == [[reviewer.email]]
    assert "Reminder" in mail.outbox[0].body
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.reviews_send_reminders() == {"reminded": 0, "escalated": 0}
    assert len(mail.outbox) == 1
    ReviewStage.objects.filter(pk=stage.pk).update(due_at=timezone.now() - timedelta(hours=49))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.reviews_send_reminders() == {"reminded": 0, "escalated": 1}
    assert Notification.objects.filter(user=ws_admin, kind="review.escalated").count() == 1
    assert mail.outbox[-1].to == [ws_admin.email]
