"""A provider block that names no stage (OpenAI ``moderation_blocked`` without ``moderation_details``) is
recorded as "stage not reported", not as a prompt block."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest

from studio.generation import services
from studio.generation.models import JobStatus
from studio.lib.providers import ErrorKind
from studio.lib.providers.errors import CallContext, map_status_error
from studio.safety.models import SafetyAssessment, SafetyStage

PAYLOADS = Path(__file__).resolve().parent.parent / "fixtures" / "payloads"
CTX = CallContext(provider_label="OpenAI", model="gpt-image-2", endpoint="https://api.openai.example")


def blocked(name: str):
    body = json.loads((PAYLOADS / f"{name}.json").read_text())
    return map_status_error(status=400, response=httpx2.Response(400, json=body), ctx=CTX)


def test_a_block_without_moderation_details_has_an_unknown_stage():
    error = blocked("openai_moderation_blocked_no_details")
    assert error.kind == ErrorKind.BLOCKED
    assert error.stage == "unknown"
    assert "this prompt" not in error.user_message
    assert "refused this request" in error.user_message
    # The shapes that do say which stage keep it.
    assert blocked("openai_moderation_blocked_output").stage == "output"
    assert blocked("openai_moderation_blocked_input").stage == "prompt"
    assert blocked("openai_content_policy_violation").stage == "prompt"


class FailingProvider:
    label = "failing"

    def __init__(self, error):
        self.error = error

    def generate(self, request):
        raise self.error

    edit = generate


@pytest.mark.django_db
def test_the_job_records_the_block_as_stage_not_reported(
    marketer, campaign, offline_deployment, django_capture_on_commit_callbacks
):
    draft = services.draft_create(actor=marketer, campaign=campaign, title="Hero", text="A lemon")
    request = services.LaunchRequest(
        deployment=offline_deployment, target_width=1024, target_height=1024, n=1, quality="low"
    )
    with django_capture_on_commit_callbacks(execute=False):
        job = services.job_launch(actor=marketer, version=draft.versions.get(), request=request)
    error = blocked("openai_moderation_blocked_no_details")
    job = services.job_execute(job_id=job.pk, provider_factory=lambda deployment, **kw: FailingProvider(error))
    assert job.status == JobStatus.BLOCKED
    assessment = SafetyAssessment.objects.get(job=job, screener="provider")
    assert assessment.stage == SafetyStage.PROVIDER_UNKNOWN
    assert assessment.get_stage_display() == "Provider filter (stage not reported)"
