"""Recording, routing and retrying: evidence rows, audit events, variant verdicts, tasks and the panel."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string

from studio.core.models import AuditEvent
from studio.generation import tasks as safety_tasks  # the image re-screen task moved up to the studio
from studio.generation.models import VariantStatus
from studio.generation.screening import (
    provider_filters_record,
    screening_record,
    variant_apply_screening,
    variant_verdict,
)
from studio.safety.models import SafetyAssessment
from studio.safety.rulepacks import rules_sync
from studio.safety.selectors import highlight_matches, safety_panel_context
from studio.safety.services import screen_image, screen_prompt
from tests import factories as f
from tests.safety.factories_safety import AZURE_ENDPOINT, Router, ok, payload


@pytest.fixture
def no_hosted(settings, monkeypatch):
    settings.AZURE_CONTENT_SAFETY_ENDPOINT = ""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


@pytest.fixture
def azure_on(settings, monkeypatch, workspace):
    settings.AZURE_CONTENT_SAFETY_ENDPOINT = AZURE_ENDPOINT
    monkeypatch.setenv("AZURE_CONTENT_SAFETY_KEY", "cs-test-key")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    workspace.safety_screeners = ["azure"]
    workspace.save()
    return workspace


@pytest.fixture
def eager_retries(monkeypatch):
    """Let eager retries re-run in-process (with propagation on, Celery raises the first Retry)."""
    monkeypatch.setitem(safety_tasks.safety_retry_pending_variant.app.conf, "task_eager_propagates", False)


@pytest.fixture
def job(workspace):
    return f.GenerationJobFactory(
        workspace=workspace, campaign__workspace=workspace, draft_version__draft__campaign__workspace=workspace
    )


@pytest.fixture
def variant(job):
    return f.VariantFactory(job=job, status=VariantStatus.SAFETY_PENDING, safety_verdict="pending")


@pytest.mark.usefixtures("no_hosted")
def test_financial_claim_is_refused_with_words_a_marketer_can_act_on(workspace):
    rules_sync()
    workspace.sector = "financial"
    screening = screen_prompt(workspace=workspace, text="Guaranteed returns for savers")
    assert screening.verdict == "block"
    assert screening.message.startswith(
        'Blocked before generation: "guaranteed returns" is a regulated financial claim. Remove the promise of '
        "returns or add the required risk wording"
    )
    assert screening.decided_by == "local: financial/financial_promise: guaranteed returns"


@pytest.mark.usefixtures("no_hosted")
def test_clean_prompt_in_a_regulated_workspace_still_goes_to_compliance(workspace):
    workspace.sector = "healthcare"
    screening = screen_prompt(workspace=workspace, text="A calm waiting room")
    assert screening.verdict == "review"
    assert screening.decided_by.startswith("policy: regulated workspace (Healthcare)")
    assert "compliance" in screening.message


@pytest.mark.usefixtures("no_hosted")
def test_screening_record_writes_one_row_per_screener_and_one_audit_event(workspace, job):
    workspace.blocklist_terms = ["rivalcola"]
    text = "Better than RivalCola"
    screening = screen_prompt(workspace=workspace, text=text)
    rows = screening_record(screening=screening, stage="prompt", workspace=workspace, job=job, text=text)
    assert [(r.screener, r.verdict, r.status) for r in rows] == [("local", "block", "complete")]
    assert rows[0].matches[0]["start"] == 12
    assert rows[0].screened_text == text
    event = AuditEvent.objects.get(action="approvals.safety.screened")
    assert event.actor is None
    assert event.actor_label == "system"
    assert event.data["stage"] == "prompt"
    assert event.data["verdict"] == "block"
    assert event.data["decided_by"] == "local: blocklist: rivalcola"
    assert event.data["screeners"][0]["hits"] == 1
    assert event.subject_id == str(job.pk)


def test_retried_screenings_count_attempts_and_the_latest_answer_decides(azure_on, job, variant):
    failing = Router().on("image:analyze", ok("azure_error_500", 500)).client()
    first = screen_image(workspace=azure_on, image=b"png", http_client=failing)
    screening_record(screening=first, stage="image", workspace=azure_on, variant=variant)
    assert variant_verdict(variant=variant) == "pending"
    clean = Router().on("image:analyze", ok("azure_image_clean")).client()
    second = screen_image(workspace=azure_on, image=f.png_bytes(), http_client=clean)
    rows = screening_record(screening=second, stage="image", workspace=azure_on, variant=variant)
    assert {r.screener: r.attempts for r in rows} == {"local": 2, "azure": 2}
    assert variant_verdict(variant=variant) == "allow"


@pytest.mark.usefixtures("no_hosted")
def test_variant_is_never_weaker_than_its_prompt(workspace, job, variant):
    prompt = screen_prompt(workspace=workspace, text="x")
    screening_record(screening=prompt, stage="prompt", workspace=workspace, job=job, text="x")
    provider_filters_record(
        workspace=workspace, job=job, stage="provider_prompt", filter_results=payload("provider_prompt_filter_results")
    )
    image = screen_image(workspace=workspace, image=f.png_bytes())
    screening_record(screening=image, stage="image", workspace=workspace, variant=variant)
    assert image.verdict == "allow"
    assert variant_verdict(variant=variant) == "review"  # the provider rated the prompt's violence "medium"
    applied = variant_apply_screening(variant=variant, screening=image)
    assert (applied.status, applied.safety_verdict) == (VariantStatus.READY, "review")
    event = AuditEvent.objects.get(action="approvals.safety.verdict")
    assert event.data["route"] == "Brand review, then compliance"
    assert event.data["previous_status"] == "safety_pending"


@pytest.mark.usefixtures("no_hosted")
def test_provider_filtered_output_blocks_the_variant(workspace, job, variant):
    row = provider_filters_record(
        workspace=workspace,
        job=job,
        variant=variant,
        stage="provider_output",
        filter_results=payload("provider_content_filter_results_filtered"),
    )
    assert row.screener == "provider"
    assert row.verdict == "block"
    assert row.decided_by == "provider: filtered sexual"
    clean = provider_filters_record(
        workspace=workspace,
        variant=variant,
        stage="provider_output",
        filter_results=payload("provider_content_filter_results_clean"),
    )
    assert clean.verdict == "allow"
    assert {c["raw"]: c["severity"] for c in clean.categories}["violence"] == 2
    image = screen_image(workspace=workspace, image=f.png_bytes())
    screening_record(screening=image, stage="image", workspace=workspace, variant=variant)
    assert variant_apply_screening(variant=variant, screening=image).status == VariantStatus.BLOCKED
    assert AuditEvent.objects.filter(action="approvals.safety.provider_filtered").count() == 2


@pytest.mark.usefixtures("no_hosted")
def test_provider_refusal_with_categories_blocks(workspace, job):
    row = provider_filters_record(
        workspace=workspace, job=job, stage="provider_prompt", filter_results={}, blocked=True, categories=["violence"]
    )
    assert row.verdict == "block"
    assert row.categories[0]["verdict"] == "block"
    bare = provider_filters_record(
        workspace=workspace, job=job, stage="provider_prompt", filter_results={}, blocked=True
    )
    assert (bare.verdict, bare.decided_by) == ("block", "provider: safety refusal")


def test_pending_screening_leaves_the_variant_waiting(azure_on, variant):
    pending = screen_image(
        workspace=azure_on,
        image=f.png_bytes(),
        http_client=Router().on("image:analyze", ok("azure_error_429", 429)).client(),
    )
    assert variant_apply_screening(variant=variant, screening=pending).status == VariantStatus.SAFETY_PENDING
    assert not AuditEvent.objects.filter(action="approvals.safety.verdict").exists()


def test_variant_retry_task_retries_with_backoff_until_the_screener_answers(
    azure_on, variant, monkeypatch, eager_retries
):
    router = Router().on(
        "image:analyze", ok("azure_error_500", 500), ok("azure_error_500", 500), ok("azure_image_severe")
    )
    client = router.client()
    monkeypatch.setattr(
        "studio.safety.services.AzureContentSafetyClient.from_settings",
        classmethod(lambda cls, http_client=None: cls(endpoint=AZURE_ENDPOINT, key="k", timeout=1, http_client=client)),
    )
    result = safety_tasks.safety_retry_pending_variant.apply(args=[variant.pk], throw=False).get()
    assert result == "block"
    variant.refresh_from_db()
    assert (variant.status, variant.safety_verdict) == (VariantStatus.BLOCKED, "block")
    assert SafetyAssessment.objects.filter(variant=variant, screener="azure").count() == 3
    assert safety_tasks.safety_retry_pending_variant.apply(args=[variant.pk], throw=False).get() == "done"
    assert [safety_tasks.backoff_seconds(n) for n in (0, 1, 2, 10)] == [15, 30, 60, 900]


def test_variant_retry_task_gives_up_visibly(azure_on, variant, monkeypatch, eager_retries):
    client = Router().on("image:analyze", ok("azure_error_500", 500)).client()
    monkeypatch.setattr(
        "studio.safety.services.AzureContentSafetyClient.from_settings",
        classmethod(lambda cls, http_client=None: cls(endpoint=AZURE_ENDPOINT, key="k", timeout=1, http_client=client)),
    )
    monkeypatch.setattr(safety_tasks, "MAX_RETRIES", 2)
    assert safety_tasks.safety_retry_pending_variant.apply(args=[variant.pk], throw=False).get() == "pending"
    variant.refresh_from_db()
    assert variant.status == VariantStatus.SAFETY_PENDING
    assert AuditEvent.objects.filter(action="approvals.safety.retries_exhausted").count() == 1


def test_highlight_matches_escapes_and_marks_hits():
    html = highlight_matches(
        '<b>Risk-free</b> & "more"',
        [
            {"start": 3, "end": 12, "advice": 'Say "may lose value"'},
            {"start": 5, "end": 9, "advice": "overlap"},
            {"start": None, "end": None, "advice": "no span"},
        ],
    )
    assert html == (
        '&lt;b&gt;<mark class="hit" title="Say &quot;may lose value&quot;">Risk-free</mark>&lt;/b&gt; '
        "&amp; &quot;more&quot;"
    )


def test_panel_shows_each_screener_route_hits_and_not_assessed_categories(azure_on, job, variant):
    azure_on.blocklist_terms = ["rivalcola"]
    text = "Better than <RivalCola>"
    router = Router().on("text:analyze", ok("azure_text_clean")).on("text:shieldPrompt", ok("azure_shield_clean"))
    prompt = screen_prompt(workspace=azure_on, text=text, http_client=router.client())
    screening_record(screening=prompt, stage="prompt", workspace=azure_on, job=job, text=text)
    SafetyAssessment.objects.create(
        workspace=azure_on,
        variant=variant,
        job=job,
        stage="image",
        screener="openai",
        verdict="allow",
        categories=[
            {"category": "Hate", "raw": "hate", "severity": None, "verdict": "allow", "assessed": False},
            {"category": "Violence", "raw": "violence", "severity": 2, "verdict": "allow", "assessed": True},
        ],
    )
    html = render_to_string("approvals/partials/safety_panel.html", safety_panel_context(variant=variant))
    assert "Blocked" in html
    assert "badge-block" in html
    assert '<mark class="hit" title="&quot;RivalCola&quot; is on your brand&#x27;s blocklist.' in html
    assert "&lt;<mark" in html  # the prompt is escaped around the highlight
    assert "not assessed for images" in html
    assert "Azure AI Content Safety" in html
    assert "OpenAI moderation" in html
    assert "Local rules" in html
    assert "style=" not in html
    assert "<script" not in html


def test_panel_words_for_each_route():
    for verdict, words in [
        ("allow", "Brand review only"),
        ("review", "Brand review, then compliance"),
        ("block", "Blocked"),
        ("pending", "Safety check pending"),
    ]:
        html = render_to_string(
            "approvals/partials/safety_panel.html", {"assessments": [], "verdict": verdict, "highlighted_prompt": ""}
        )
        assert words in html
        assert f"badge-{verdict}" in html
