"""Screening and recording: the public API the generation pipeline and the review workflow call.

``screen_prompt`` / ``screen_image`` only read (rules) and call the screeners; they never write, so the
pipeline can decide before it spends money. ``screening_record`` and ``provider_filters_record`` turn
outcomes into evidence rows plus an audit event; ``variant_apply_screening`` moves a variant out of
"safety check pending" once the verdict is final.

Fail closed: a screener that gives no answer makes the screening ``pending`` (a task retries it);
only when the workspace chose to fail open is it recorded as skipped and the others decide.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx2
from django.db import transaction
from django.db.models import Q

from studio.core.audit import audit_append
from studio.core.models import Workspace
from studio.generation.models import GenerationJob, Variant, VariantStatus
from studio.safety.azure import AzureContentSafetyClient, blocklist_name_for
from studio.safety.local import find_term, fold, local_screen
from studio.safety.models import AssessmentStatus, SafetyAssessment, SafetyStage, SafetyVerdict, Screener
from studio.safety.openai_moderation import ModerationResult, OpenAIModerationClient
from studio.safety.policy import (
    BLOCKLIST,
    JAILBREAK,
    PROVIDER_SEVERITY,
    SafetyPolicy,
    category_canonical,
    category_words,
    policy_for,
    score_to_severity,
)
from studio.safety.results import judge, measured, unavailable
from studio.safety.selectors import variant_verdict_with
from studio.safety.types import ROUTE_WORDS, ScreenerResult, ScreenerUnavailable, Screening, strictest

NO_HOSTED = "Only local rules ran: no hosted screener is configured."


# -- hosted screeners ---------------------------------------------------------------------------------


def _hosted_clients(workspace: Workspace, http_client: httpx2.Client | None) -> tuple[dict[str, Any], list[str]]:
    """Clients for the workspace's chosen screeners that are configured, and the chosen ones that are not."""
    chosen = [s for s in (workspace.safety_screeners or []) if s in (Screener.AZURE, Screener.OPENAI)]
    clients: dict[str, Any] = {}
    missing = []
    for name in dict.fromkeys(chosen):
        factory = AzureContentSafetyClient if name == Screener.AZURE else OpenAIModerationClient
        client = factory.from_settings(http_client=http_client)
        if client is None:
            missing.append(name)
        else:
            clients[name] = client
    return clients, missing


def _azure_text(
    client: AzureContentSafetyClient, workspace: Workspace, text: str, policy: SafetyPolicy, *, shield: bool
) -> ScreenerResult:
    names = [blocklist_name_for(workspace)] if workspace.blocklist_terms else []
    note = ""
    try:
        analysis = client.analyze_text(text, blocklist_names=names)
    except ScreenerUnavailable as exc:
        if not names or exc.status_code != 404:
            raise
        # The Azure blocklist has not been synced yet; local rules check the same terms meanwhile.
        analysis = client.analyze_text(text)
        note = "Azure blocklist not synced yet; local rules checked the blocklist terms."
    categories = [measured(c, s, raw=c) for c, s in sorted(analysis.severities.items())]
    matches = []
    folded = fold(text)
    for hit in analysis.blocklist_matches:
        term = hit["blocklistItemText"]
        spans = find_term(folded, term) or [(None, None)]
        for start, end in spans:
            matches.append(
                {
                    "term": text[start:end] if start is not None else term,
                    "rule": f"azure blocklist: {term}",
                    "start": start,
                    "end": end,
                    "category": BLOCKLIST,
                    "verdict": policy.verdict_for(BLOCKLIST, 6),
                    "advice": f'"{term}" is on your brand\'s blocklist. Remove it or choose different wording.',
                }
            )
    if shield:
        attack = client.shield_prompt(text)
        categories.append(measured(JAILBREAK, 6 if attack else 0, raw="Prompt Shields"))
    return judge(screener=Screener.AZURE, policy=policy, categories=categories, matches=matches, note=note)


def _azure_image(client: AzureContentSafetyClient, image: bytes, policy: SafetyPolicy) -> ScreenerResult:
    severities = client.analyze_image(image)
    return judge(
        screener=Screener.AZURE,
        policy=policy,
        categories=[measured(c, s, raw=c) for c, s in sorted(severities.items())],
    )


def _openai(result: ModerationResult, policy: SafetyPolicy, *, input_type: str) -> ScreenerResult:
    categories = [
        measured(
            category_canonical(s.raw),
            score_to_severity(s.score, flagged=s.flagged),
            raw=s.raw,
            assessed=s.assessed,
            score=round(s.score, 4),
            flagged=s.flagged,
        )
        for s in result.scores
    ]
    skipped = [c["raw"] for c in categories if not c["assessed"]]
    note = f"Not assessed for {input_type}s: {', '.join(skipped)}." if skipped else ""
    return judge(screener=Screener.OPENAI, policy=policy, categories=categories, note=note)


def _run(screener: str, workspace: Workspace, call: Callable[[], ScreenerResult]) -> ScreenerResult:
    try:
        return call()
    except ScreenerUnavailable as exc:
        return unavailable(screener=screener, error=exc, fail_open=workspace.safety_fail_open)


# -- combining ----------------------------------------------------------------------------------------


def combine(
    *,
    results: list[ScreenerResult],
    policy: SafetyPolicy,
    stage: str,
    only_local: bool,
    missing: list[str] | None = None,
) -> Screening:
    """The strictest verdict of the screeners that answered wins (then the policy's floor); a fail-open
    skip takes no part. Pending wins over review and allow, block wins over everything."""
    counted = [r for r in results if r.counts]
    raw = strictest(r.verdict for r in counted)
    verdict = policy.floor(raw)
    if verdict != raw:
        decided_by = policy.minimum_reason
    elif verdict == SafetyVerdict.ALLOW:
        decided_by = "all screeners: nothing above the policy's thresholds"
    else:
        decided_by = ", ".join(r.decided_by for r in counted if r.verdict == verdict and r.decided_by)
    message = _message(verdict=verdict, raw=raw, results=results, policy=policy, stage=stage)
    skipped = [r for r in results if not r.counts]
    if skipped:
        names = ", ".join(r.screener_label for r in skipped)
        message += (
            f" {names} could not be reached and was skipped, because this workspace lets items "
            "through when a screener is down."
        )
    if verdict == SafetyVerdict.BLOCK and stage == "prompt":
        message += " Nothing was sent to the image service and nothing was charged."
    elif only_local:
        # Not for blocks: there it would read as if the block were provisional.
        message += " " + NO_HOSTED
        if missing:
            labels = ", ".join(Screener(m).label for m in missing)
            message += f" ({labels} is selected for this workspace but has no endpoint or key.)"
    return Screening(
        verdict=verdict,
        pending=verdict == SafetyVerdict.PENDING,
        results=results,
        decided_by=decided_by,
        message=message.strip(),
        only_local=only_local,
    )


def _stage_words(stage: str, verdict: str) -> str:
    before = stage in (SafetyStage.PROMPT, SafetyStage.PROVIDER_PROMPT)
    if verdict == SafetyVerdict.BLOCK:
        return "Blocked before generation" if before else "Blocked after generation"
    if verdict == SafetyVerdict.PENDING:
        return "Safety check pending"
    return "Goes to brand review, then compliance" if verdict == SafetyVerdict.REVIEW else "Passed the safety check"


def _reason(result: ScreenerResult, verdict: str, stage: str) -> str:
    hit = next((m for m in result.matches if m["verdict"] == verdict), None)
    if hit is not None:
        return hit.get("advice") or f'"{hit["term"]}" matched {hit["rule"]}.'
    top = max((c for c in result.categories if c["verdict"] == verdict), key=lambda c: c["severity"] or 0, default=None)
    subject = "the prompt" if stage in (SafetyStage.PROMPT, SafetyStage.PROVIDER_PROMPT) else "the image"
    if top is None:
        return result.explanation
    if category_canonical(top["category"]) == JAILBREAK:
        return (
            f"{result.screener_label} found {category_words(JAILBREAK)} in {subject}. Describe the image you "
            "want directly, without instructions to the system."
        )
    fix = "Rephrase the prompt to remove it." if subject == "the prompt" else "Generate a new version without it."
    return (
        f"{result.screener_label} rated {subject} as {category_words(top['category'])} "
        f"(severity {top['severity']}). {fix}"
    )


def _message(*, verdict: str, raw: str, results: list[ScreenerResult], policy: SafetyPolicy, stage: str) -> str:
    head = _stage_words(stage, verdict)
    if verdict == SafetyVerdict.PENDING:
        down = ", ".join(r.screener_label for r in results if r.status == AssessmentStatus.ERROR)
        then = (
            "nothing is generated until it answers"
            if stage == SafetyStage.PROMPT
            else "the image cannot be submitted until it answers"
        )
        return f"{head}: {down} did not answer. We will try again automatically; {then}."
    if verdict == SafetyVerdict.ALLOW:
        return f"{head}: {ROUTE_WORDS[verdict].lower()}."
    if verdict != raw:  # raised by the policy floor, not by a finding
        sector = policy.minimum_reason.removeprefix("policy: ")
        return f"{head}: {sector}."
    decisive = next(r for r in results if r.counts and r.verdict == verdict)
    return f"{head}: {_reason(decisive, verdict, stage)}"


# -- public: screening --------------------------------------------------------------------------------


def screen_prompt(*, workspace: Workspace, text: str, http_client: httpx2.Client | None = None) -> Screening:
    """Local rules plus every configured hosted screener (Azure text analysis with the workspace
    blocklist and Prompt Shields; OpenAI moderation). Reads rules; writes nothing."""
    policy = policy_for(workspace)
    results = [local_screen(workspace=workspace, text=text, policy=policy)]
    clients, missing = _hosted_clients(workspace, http_client)
    if Screener.AZURE in clients:
        azure = clients[Screener.AZURE]
        results.append(
            _run(Screener.AZURE, workspace, lambda: _azure_text(azure, workspace, text, policy, shield=True))
        )
    if Screener.OPENAI in clients:
        oa = clients[Screener.OPENAI]
        results.append(
            _run(Screener.OPENAI, workspace, lambda: _openai(oa.moderate_text(text), policy, input_type="text"))
        )
    return combine(results=results, policy=policy, stage=SafetyStage.PROMPT, only_local=not clients, missing=missing)


def screen_image(*, workspace: Workspace, image: bytes, http_client: httpx2.Client | None = None) -> Screening:
    """Every configured hosted screener over the image (downscaled to the screeners' limits first).
    Local rules read text only, so their row says the image itself was not read by them."""
    policy = policy_for(workspace)
    local = ScreenerResult(
        screener=Screener.LOCAL,
        status=AssessmentStatus.COMPLETE,
        verdict=SafetyVerdict.ALLOW,
        explanation="Local rules read text only; the prompt was checked before generation.",
    )
    results = [local]
    clients, missing = _hosted_clients(workspace, http_client)
    if Screener.AZURE in clients:
        azure = clients[Screener.AZURE]
        results.append(_run(Screener.AZURE, workspace, lambda: _azure_image(azure, image, policy)))
    if Screener.OPENAI in clients:
        oa = clients[Screener.OPENAI]
        results.append(
            _run(Screener.OPENAI, workspace, lambda: _openai(oa.moderate_image(image), policy, input_type="image"))
        )
    screening = combine(
        results=results, policy=policy, stage=SafetyStage.IMAGE, only_local=not clients, missing=missing
    )
    if screening.only_local:
        return Screening(
            verdict=screening.verdict,
            pending=screening.pending,
            results=screening.results,
            decided_by=screening.decided_by,
            only_local=True,
            message=screening.message + " The image itself was not checked by a screener.",
        )
    return screening


# -- public: recording --------------------------------------------------------------------------------


def _subject(job: GenerationJob | None, variant: Variant | None) -> Any:
    if variant is None and job is None:
        raise ValueError("A safety record needs a job or a variant.")
    return variant if variant is not None else job


@transaction.atomic
def screening_record(
    *,
    screening: Screening,
    stage: str,
    workspace: Workspace,
    job: GenerationJob | None = None,
    variant: Variant | None = None,
    text: str = "",
) -> list[SafetyAssessment]:
    """One assessment per screener result and one audit event, in one transaction. ``attempts`` counts
    earlier rows for the same subject, stage and screener, so retries are visible."""
    subject = _subject(job, variant)
    if variant is not None and job is None:
        job = variant.job
    rows = []
    for result in screening.results:
        earlier = SafetyAssessment.objects.filter(stage=stage, screener=result.screener, job=job, variant=variant)
        row = SafetyAssessment(
            workspace=workspace,
            job=job,
            variant=variant,
            stage=stage,
            screener=result.screener,
            status=result.status,
            verdict=result.verdict,
            categories=result.categories,
            matches=result.matches,
            decided_by=result.decided_by[:200],
            explanation=result.explanation,
            screened_text=text,
            error=result.error,
            attempts=earlier.count() + 1,
        )
        row.full_clean()
        row.save()
        rows.append(row)
    audit_append(
        workspace=workspace,
        actor=None,
        action="approvals.safety.screened",
        subject=subject,
        data={
            "stage": stage,
            "verdict": screening.verdict,
            "route": ROUTE_WORDS[screening.verdict],
            "decided_by": screening.decided_by,
            "message": screening.message,
            "only_local": screening.only_local,
            "job": job.pk if job is not None else None,
            "variant": variant.pk if variant is not None else None,
            "screeners": [r.summary() for r in screening.results],
            "assessments": [r.pk for r in rows],
        },
    )
    return rows


def _provider_results(filter_results: Any) -> dict[str, Any]:
    """Azure sends ``content_filter_results`` per image and ``prompt_filter_results`` either as a dict or
    as ``[{"prompt_index": 0, "content_filter_results": {...}}]``: reduce all to one dict."""
    if isinstance(filter_results, list):
        merged: dict[str, Any] = {}
        for item in filter_results:
            merged.update(_provider_results(item))
        return merged
    if not isinstance(filter_results, dict):
        return {}
    if isinstance(filter_results.get("content_filter_results"), dict):
        return filter_results["content_filter_results"]
    return filter_results


@transaction.atomic
def provider_filters_record(
    *,
    workspace: Workspace,
    job: GenerationJob | None = None,
    variant: Variant | None = None,
    stage: str,
    filter_results: dict,
    blocked: bool = False,
    categories: list[str] | None = None,
) -> SafetyAssessment:
    """The image provider's own filter as evidence: a filtered category blocks; otherwise its severity
    goes through the workspace policy. ``blocked`` + ``categories`` record a provider safety refusal."""
    subject = _subject(job, variant)
    if variant is not None and job is None:
        job = variant.job
    policy = policy_for(workspace)
    measured_categories = []
    forced: list[dict[str, Any]] = []
    for raw, value in sorted(_provider_results(filter_results).items()):
        if not isinstance(value, dict):
            continue
        filtered = bool(value.get("filtered"))
        if "severity" in value:
            severity = PROVIDER_SEVERITY.get(str(value.get("severity")), 6)
        elif "detected" in value:
            severity = 6 if value.get("detected") else 0
        else:  # custom_blocklists and the like: only "filtered" (and details)
            severity = 6 if filtered else 0
        item = measured(category_canonical(raw), severity, raw=raw, filtered=filtered)
        measured_categories.append(item)
        if filtered:
            forced.append(item)
    for raw in categories or []:
        item = measured(category_canonical(raw), 6, raw=raw, filtered=True)
        measured_categories.append(item)
        forced.append(item)
    result = judge(screener=Screener.PROVIDER, policy=policy, categories=measured_categories)
    judged = [{**c, "verdict": SafetyVerdict.BLOCK} if c.get("filtered") else c for c in result.categories]
    verdict = strictest([result.verdict] + [c["verdict"] for c in judged])
    decided_by, explanation = result.decided_by, result.explanation
    if forced:
        names = ", ".join(sorted({c["raw"] for c in forced}))
        decided_by = f"provider: filtered {names}"
        explanation = f"The image service's own safety filter stopped this ({category_words(forced[0]['raw'])})."
    elif blocked:
        verdict = SafetyVerdict.BLOCK
        decided_by = "provider: safety refusal"
        explanation = "The image service's safety system refused this request."
    row = SafetyAssessment(
        workspace=workspace,
        job=job,
        variant=variant,
        stage=stage,
        screener=Screener.PROVIDER,
        status=AssessmentStatus.COMPLETE,
        verdict=verdict,
        categories=judged,
        decided_by=decided_by[:200],
        explanation=explanation,
        attempts=1,
    )
    row.full_clean()
    row.save()
    audit_append(
        workspace=workspace,
        actor=None,
        action="approvals.safety.provider_filtered",
        subject=subject,
        data={
            "stage": stage,
            "verdict": verdict,
            "decided_by": decided_by,
            "blocked": blocked,
            "categories": categories or [],
            "assessment": row.pk,
        },
    )
    return row


@transaction.atomic
def variant_apply_screening(*, variant: Variant, screening: Screening) -> Variant:
    """Move a variant out of "safety check pending" once its combined verdict is final: blocked, or
    ready to submit. The verdict covers every recorded assessment of the variant and its job's prompt, so
    a variant is never weaker than its prompt. Pending leaves it as it is; a blocked variant is never
    unblocked here (that takes a compliance override in the review workflow)."""
    locked = Variant.objects.select_for_update(of=("self",)).select_related("job", "workspace").get(pk=variant.pk)
    if locked.status not in (VariantStatus.SAFETY_PENDING, VariantStatus.READY):
        return locked
    verdict = strictest([screening.verdict, variant_verdict_with(variant=locked, image_verdict=screening.verdict)])
    if verdict == SafetyVerdict.PENDING:
        return locked
    previous = (locked.status, locked.safety_verdict, locked.safety_severity)
    locked.status = VariantStatus.BLOCKED if verdict == SafetyVerdict.BLOCK else VariantStatus.READY
    locked.safety_verdict = verdict
    locked.safety_severity = _highest_severity(locked)
    if (locked.status, locked.safety_verdict, locked.safety_severity) == previous:
        return locked
    locked.full_clean(exclude=["image", "thumbnail"])
    locked.save(update_fields=["status", "safety_verdict", "safety_severity"])
    audit_append(
        workspace=locked.workspace,
        actor=None,
        action="approvals.safety.verdict",
        subject=locked,
        data={
            "verdict": verdict,
            "route": ROUTE_WORDS[verdict],
            "status": locked.status,
            "previous_status": previous[0],
            "previous_verdict": previous[1],
            "decided_by": screening.decided_by,
            "message": screening.message,
            "severity": locked.safety_severity,
        },
    )
    variant.status, variant.safety_verdict = locked.status, locked.safety_verdict
    variant.safety_severity = locked.safety_severity
    return locked


def _highest_severity(variant: Variant) -> int:
    """The risk a reviewer filters by: the highest severity any screener gave the image or its prompt."""
    rows = SafetyAssessment.objects.filter(Q(variant=variant) | Q(job_id=variant.job_id, variant__isnull=True))
    severities = [
        int(category.get("severity") or 0)
        for categories in rows.values_list("categories", flat=True)
        for category in categories or []
        if isinstance(category, dict) and str(category.get("severity", "0")).isdigit()
    ]
    return min(max(severities, default=0), 7)


def variant_rescreen(*, variant_id: int, http_client: httpx2.Client | None = None) -> Screening | None:
    """Screen a pending variant's image again, record it, and apply the verdict when final. Returns
    ``None`` when the variant no longer waits for a safety check (idempotent for redelivered tasks)."""
    variant = Variant.objects.select_related("workspace", "job").get(pk=variant_id)
    if variant.status != VariantStatus.SAFETY_PENDING:
        return None
    with variant.image.open("rb") as fh:
        data = fh.read()
    screening = screen_image(workspace=variant.workspace, image=data, http_client=http_client)
    with transaction.atomic():
        locked = Variant.objects.select_for_update(of=("self",)).get(pk=variant_id)
        if locked.status != VariantStatus.SAFETY_PENDING:
            return None
        screening_record(screening=screening, stage=SafetyStage.IMAGE, workspace=variant.workspace, variant=locked)
        if not screening.pending:
            variant_apply_screening(variant=locked, screening=screening)
    return screening


@transaction.atomic
def variant_safety_gave_up(*, variant: Variant, attempts: int) -> None:
    """Record that automatic retries stopped: the variant stays pending (fail closed) and the record
    says so, so nobody mistakes silence for a pass."""
    audit_append(
        workspace=variant.workspace,
        actor=None,
        action="approvals.safety.retries_exhausted",
        subject=variant,
        data={
            "attempts": attempts,
            "message": "The safety check is still pending after automatic retries; "
            "an admin can re-run it once the screener is back.",
        },
    )
