"""A provider's error text never stores a key: not in the job, not in the audit chain (append-only)."""

from __future__ import annotations

import json

import httpx2
import pytest

from studio.core.models import AuditEvent
from studio.generation import services
from studio.generation.models import Deployment, GenerationJob, JobStatus
from studio.lib.providers.errors import CallContext, map_sdk_exception, map_status_error
from studio.lib.redaction import REDACTED, redact

KEY = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"  # an Azure-style key, not credential-shaped by itself
SK = "sk-abcDEF1234567890abcdef"
CTX = CallContext(provider_label="Azure OpenAI", model="gpt-image-2", endpoint="https://x.example", azure=True)


def test_redact_removes_configured_values_and_credential_shapes():
    text = f"key {KEY}; Authorization: Bearer eyJhbGciOi.abc.def; api-key: zzzzzzzzzz12; {SK} end"
    clean = redact(text, secrets=[KEY, "", "short"])
    for secret in (KEY, "eyJhbGciOi.abc.def", "zzzzzzzzzz12", SK):
        assert secret not in clean
    assert clean.count(REDACTED) == 4
    assert clean.startswith("key [redacted]; Authorization: Bearer [redacted]; api-key: [redacted]")
    assert redact("a short word stays", secrets=["short"]) == "a short word stays"


class FailingProvider:
    label = "failing"

    def __init__(self, error):
        self.error = error

    def generate(self, request):
        raise self.error

    edit = generate


@pytest.fixture
def queued_job(marketer, campaign, offline_deployment, monkeypatch, django_capture_on_commit_callbacks):
    Deployment.objects.filter(pk=offline_deployment.pk).update(secret_env="IMPRIMATUR_KEY_TEST")
    monkeypatch.setenv("IMPRIMATUR_KEY_TEST", KEY)
    draft = services.draft_create(actor=marketer, campaign=campaign, title="Hero", text="A lemon")
    request = services.LaunchRequest(
        deployment=offline_deployment, target_width=1024, target_height=1024, n=1, quality="low"
    )
    with django_capture_on_commit_callbacks(execute=False):
        return services.job_launch(actor=marketer, version=draft.versions.get(), request=request)


def _stored_text(job: GenerationJob) -> str:
    event = AuditEvent.objects.get(action="studio.job.failed", subject_id=str(job.pk))
    return job.error_message + json.dumps(event.data)


def test_a_rejected_request_echoing_the_key_is_stored_redacted(queued_job):
    body = {"error": {"message": f"Bad header api-key={KEY} and Authorization: Bearer {SK}", "code": "bad"}}
    error = map_status_error(status=400, response=httpx2.Response(400, json=body), ctx=CTX)
    assert KEY in error.user_message  # what the service sent, before it is stored
    job = services.job_execute(job_id=queued_job.pk, provider_factory=lambda deployment, **kw: FailingProvider(error))
    assert job.status == JobStatus.FAILED
    stored = _stored_text(job)
    assert REDACTED in job.error_message
    assert KEY not in stored
    assert SK not in stored
    assert GenerationJob.objects.get(pk=job.pk).error_message == job.error_message


def test_an_unexpected_error_quoting_the_key_is_stored_redacted(queued_job):
    error = map_sdk_exception(RuntimeError(f"401 Unauthorized for key {KEY} ({SK})"), CTX)
    job = services.job_execute(job_id=queued_job.pk, provider_factory=lambda deployment, **kw: FailingProvider(error))
    stored = _stored_text(job)
    assert "[redacted]" in job.error_message
    assert KEY not in stored
    assert SK not in stored
