"""Screening: the public API the generation pipeline calls before it spends money and after it gets images.

``screen_prompt`` / ``screen_image`` only read (rules) and call the screeners; they never write, so the
pipeline can decide before it spends money. Storing the outcome as evidence is ``studio.safety.assessments``;
what a verdict does to a job or an image is the studio's (``studio.generation.screening``), because the
safety layer knows no job and no image.

Fail closed: a screener that gives no answer makes the screening ``pending`` (a task retries it);
only when the workspace chose to fail open is it recorded as skipped and the others decide.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx2

from studio.core.models import Workspace
from studio.safety.azure import AzureContentSafetyClient, blocklist_name_for
from studio.safety.local import find_term, fold, local_screen, rules_for
from studio.safety.models import AssessmentStatus, SafetyStage, SafetyVerdict, Screener
from studio.safety.openai_moderation import ModerationResult, OpenAIModerationClient
from studio.safety.policy import (
    BLOCKLIST,
    JAILBREAK,
    SafetyPolicy,
    category_canonical,
    category_words,
    policy_for,
    score_to_severity,
)
from studio.safety.results import judge, measured, unavailable
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


def screens_image_pixels(workspace: Workspace) -> bool:
    """Whether the workspace chose a hosted screener (which reads an image's pixels, over the network).
    Without one the image check is the local rules' note that they read text only: it cannot wait on
    anything, so the studio records it with the image instead of in a task of its own."""
    return any(s in (Screener.AZURE, Screener.OPENAI) for s in (workspace.safety_screeners or []))


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
    categories = [_azure_measured(c, s) for c, s in sorted(analysis.severities.items())]
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
        categories=[_azure_measured(c, s) for c, s in sorted(severities.items())],
    )


def _azure_measured(category: str, severity: int | None) -> dict:
    """A category Azure listed without a severity was not reported: severity 0, and recorded as unreported
    (``severity_reported: False``) so the trail does not claim a measurement that was never made."""
    if severity is None:
        return measured(category, 0, raw=category, severity_reported=False)
    return measured(category, severity, raw=category)


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
    return _screen_prompt(workspace=workspace, text=text, policy=policy_for(workspace), http_client=http_client)


def screen_prompts(
    *, workspace: Workspace, texts: list[str], http_client: httpx2.Client | None = None
) -> dict[str, Screening]:
    """``screen_prompt`` over each distinct text, with the workspace's policy and rules read once (a
    production run screens one prompt per locale for hundreds of cells). Reads rules; writes nothing."""
    policy = policy_for(workspace)
    rules = rules_for(workspace)
    return {
        text: _screen_prompt(workspace=workspace, text=text, policy=policy, rules=rules, http_client=http_client)
        for text in dict.fromkeys(texts)
    }


def _screen_prompt(
    *, workspace: Workspace, text: str, policy, rules=None, http_client: httpx2.Client | None = None
) -> Screening:
    results = [local_screen(workspace=workspace, text=text, policy=policy, rules=rules)]
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
