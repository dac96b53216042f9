"""Studio services: drafts, launch with budget reservation, the idempotent job pipeline and edits."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from PIL import Image

from studio.core.models import AuditEvent
from studio.core.permissions import RoleRequired
from studio.generation import services
from studio.generation.models import Campaign, GenerationJob, JobStatus, Operation, Variant, VariantStatus
from studio.lib.providers import ErrorKind, ProviderError
from studio.safety.models import SafetyAssessment
from tests import factories as f


@pytest.fixture
def draft(marketer, campaign):
    return services.draft_create(
        actor=marketer,
        campaign=campaign,
        title="Lemon soda hero",
        text="A glass of {product} on a sunny table",
        variables={"product": "lemon soda"},
        locale_copy={"en": "Hello spring", "ja": "春"},
    )


def launch(actor, draft, deployment, **overrides):
    version = draft.versions.order_by("-number").first()
    request = services.LaunchRequest(
        deployment=deployment,
        target_width=overrides.pop("w", 1200),
        target_height=overrides.pop("h", 628),
        n=overrides.pop("n", 2),
        quality=overrides.pop("quality", "low"),
        **overrides,
    )
    return services.job_launch(actor=actor, version=version, request=request)


def test_draft_create_writes_version_and_audit(draft, marketer):
    assert draft.versions.get().number == 1
    event = AuditEvent.objects.get(action="studio.draft.created")
    assert event.actor == marketer
    assert event.data["title"] == "Lemon soda hero"


def test_only_marketers_write_drafts(reviewer, campaign):
    with pytest.raises(RoleRequired, match="marketer"):
        services.draft_create(actor=reviewer, campaign=campaign, title="x", text="y")


def test_saving_unchanged_text_adds_no_version(draft, marketer):
    v1 = draft.versions.get()
    same = services.draft_version_add(
        actor=marketer, draft=draft, text=v1.text, variables=v1.variables, locale_copy=v1.locale_copy
    )
    assert same.pk == v1.pk
    v2 = services.draft_version_add(actor=marketer, draft=draft, text="A new idea", locale_copy={})
    assert v2.number == 2


def test_prompt_puts_brand_style_first_and_fills_variables(draft, workspace):
    version = draft.versions.get()
    prompt = services.prompt_compose(version=version, locale="ja")
    assert prompt.startswith(f"Brand style: {workspace.style_guide}")
    assert "A glass of lemon soda on a sunny table" in prompt
    assert prompt.endswith('In-image text (ja): "春"')


def test_launch_reserves_estimate_and_runs_to_variants(
    draft, marketer, offline_deployment, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = launch(marketer, draft, offline_deployment, n=2)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    assert job.estimated_cost > 0
    assert job.actual_cost > 0
    variants = list(job.variants.order_by("index"))
    assert len(variants) == 2
    for variant in variants:
        with variant.image.open("rb") as fh, Image.open(fh) as img:
            assert img.size == (variant.width, variant.height) == (job.planned_width, job.planned_height)
        assert len(variant.sha256) == 64
    campaign = Campaign.objects.get(pk=job.campaign_id)
    assert campaign.reserved_cost == 0
    assert campaign.spent_cost == job.actual_cost
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert "studio.job.created" in actions
    assert "studio.job.succeeded" in actions
    assert actions.count("studio.variant.created") == 2


def test_running_a_finished_job_again_changes_nothing(
    draft, marketer, offline_deployment, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = launch(marketer, draft, offline_deployment, n=1)
    spent = Campaign.objects.get(pk=job.campaign_id).spent_cost
    services.job_execute(job_id=job.pk)
    assert Variant.objects.filter(job=job).count() == 1
    assert Campaign.objects.get(pk=job.campaign_id).spent_cost == spent


def test_launch_over_budget_is_refused_with_the_numbers(draft, marketer, offline_deployment, campaign):
    Campaign.objects.filter(pk=campaign.pk).update(budget=Decimal("0.0001"))
    with pytest.raises(services.BudgetExceeded) as exc:
        launch(marketer, draft, offline_deployment, n=4)
    assert "left of its" in exc.value.message
    assert "$" in exc.value.message
    assert not GenerationJob.objects.exists()
    assert Campaign.objects.get(pk=campaign.pk).reserved_cost == 0


def test_missing_template_value_is_a_form_error(marketer, campaign, offline_deployment):
    draft = services.draft_create(actor=marketer, campaign=campaign, title="t", text="A {thing} on a table")
    with pytest.raises(services.StudioError, match="thing"):
        launch(marketer, draft, offline_deployment)


def test_unsupported_parameter_is_a_form_error_not_an_api_call(draft, marketer, offline_deployment):
    with pytest.raises(services.StudioError) as exc:
        launch(marketer, draft, offline_deployment, quality="ultra")
    assert "quality" in exc.value.field_errors


class FailingProvider:
    label = "failing"

    def __init__(self, error):
        self.error = error
        self.calls = 0

    def generate(self, request):
        self.calls += 1
        raise self.error

    edit = generate


@pytest.fixture
def queued_job(draft, marketer, offline_deployment, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        return launch(marketer, draft, offline_deployment, n=1)


def test_retryable_error_retries_then_fails_and_releases_budget(queued_job):
    # Retries are bounded by time (the deployment's retry budget, issue 10), not by a count of attempts.
    provider = FailingProvider(
        ProviderError("The image service is busy.", kind=ErrorKind.RETRYABLE, status_code=429, retry_after=1.5)
    )

    def factory(deployment, **kw):  # the provider factory handed to the pipeline
        return provider

    with pytest.raises(services.JobRetry) as retry:
        services.job_execute(job_id=queued_job.pk, provider_factory=factory)
    assert retry.value.countdown >= 1.5
    assert GenerationJob.objects.get(pk=queued_job.pk).status == JobStatus.RETRYING
    with pytest.raises(services.JobRetry):
        services.job_execute(job_id=queued_job.pk, provider_factory=factory)
    budget = queued_job.deployment.retry_budget_seconds
    GenerationJob.objects.filter(pk=queued_job.pk).update(started_at=timezone.now() - timedelta(seconds=budget + 1))
    job = services.job_execute(job_id=queued_job.pk, provider_factory=factory)
    assert job.status == JobStatus.FAILED
    assert "gave up" in job.error_message
    assert "nothing was charged" in job.error_message
    assert provider.calls == 3
    campaign = Campaign.objects.get(pk=job.campaign_id)
    assert campaign.reserved_cost == 0
    assert campaign.spent_cost == 0


def test_fatal_error_fails_at_once_with_the_fix(queued_job):
    provider = FailingProvider(
        ProviderError(
            "The API key in AZURE_OPENAI_KEY was rejected: check the key.", kind=ErrorKind.FATAL, status_code=401
        )
    )
    job = services.job_execute(job_id=queued_job.pk, provider_factory=lambda deployment, **kw: provider)
    assert job.status == JobStatus.FAILED
    assert "AZURE_OPENAI_KEY" in job.error_message
    assert provider.calls == 1
    assert AuditEvent.objects.filter(action="studio.job.failed").count() == 1


def test_provider_safety_block_is_recorded_as_blocked(queued_job):
    provider = FailingProvider(
        ProviderError(
            "The image service's safety system refused this prompt.",
            kind=ErrorKind.BLOCKED,
            code="moderation_blocked",
            stage="input",
            categories=["violence"],
        )
    )
    job = services.job_execute(job_id=queued_job.pk, provider_factory=lambda deployment, **kw: provider)
    assert job.status == JobStatus.BLOCKED
    assert job.safety_categories == ["violence"]
    assessment = SafetyAssessment.objects.get(job=job, screener="provider")
    assert assessment.stage == "provider_prompt"
    assert assessment.verdict == "block"


def test_blocklisted_prompt_is_blocked_before_any_call(
    marketer, campaign, workspace, offline_deployment, django_capture_on_commit_callbacks
):
    workspace.blocklist_terms = ["rivalcola"]
    workspace.save()
    draft = services.draft_create(actor=marketer, campaign=campaign, title="t", text="Better than RivalCola")
    provider = FailingProvider(AssertionError("must not be called"))
    with django_capture_on_commit_callbacks(execute=False):
        job = launch(marketer, draft, offline_deployment)
    services.job_execute(job_id=job.pk, provider_factory=lambda deployment, **kw: provider)
    job.refresh_from_db()
    assert job.status == JobStatus.BLOCKED
    assert "rivalcola" in job.error_message.lower()
    assert provider.calls == 0
    assert job.actual_cost == 0
    assert Campaign.objects.get(pk=campaign.pk).reserved_cost == 0


def test_edit_makes_a_child_version_with_its_parent(
    draft, marketer, offline_deployment, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = launch(marketer, draft, offline_deployment, n=1)
    base = job.variants.get()
    with django_capture_on_commit_callbacks(execute=True):
        edit_job = services.variant_edit(actor=marketer, variant=base, instruction="Make the sky warmer")
    edit_job.refresh_from_db()
    assert edit_job.status == JobStatus.SUCCEEDED, edit_job.error_message
    child = edit_job.variants.get()
    assert list(child.parents.all()) == [base]
    assert child.operation == Operation.EDIT
    assert child.sha256 != base.sha256
    assert (child.width, child.height) == (base.width, base.height)


def test_edit_needs_an_instruction(marketer, workspace):
    variant = f.VariantFactory(workspace=workspace, job__workspace=workspace)
    with pytest.raises(services.StudioError, match="Describe"):
        services.variant_edit(actor=marketer, variant=variant, instruction="   ")


def test_new_variants_are_screened_before_they_can_be_submitted(
    draft, marketer, offline_deployment, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = launch(marketer, draft, offline_deployment, n=1)
    variant = job.variants.get()
    assert variant.status == VariantStatus.READY
    assert variant.safety_verdict in ("allow", "review")
    assert SafetyAssessment.objects.filter(variant=variant, stage="image").exists()


class WrongSizeProvider:
    """Returns a real image of a size other than the plan (as `size=auto` or a silent resize would)."""

    label = "wrong size"

    def generate(self, request):
        from studio.lib.providers import GeneratedImage, ProviderResult, Usage

        data = f.png_bytes(1024, 1024)
        return ProviderResult(
            images=[GeneratedImage(data=data, width=1024, height=1024, format="png")],
            usage=Usage(input_text_tokens=20, output_image_tokens=272),
            request_id="req_1",
        )

    edit = generate


def test_a_real_image_of_another_size_is_kept_and_flagged(queued_job, workspace, reviewer):
    job = services.job_execute(job_id=queued_job.pk, provider_factory=lambda deployment, **kw: WrongSizeProvider())
    assert job.status == JobStatus.SUCCEEDED
    variant = job.variants.get()
    assert (variant.width, variant.height) == (1024, 1024)
    assert variant.size_mismatch is True
    assert "instead of the planned 1216x640" in job.error_message
    # Its rendition is planned from the real size: publishing still reaches the exact target.
    from studio.lib.imaging import make_rendition

    with variant.image.open("rb") as fh:
        rendition = make_rendition(source=fh.read(), width=1200, height=628)
    from io import BytesIO

    assert Image.open(BytesIO(rendition)).size == (1200, 628)
