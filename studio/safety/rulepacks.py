"""Sector rule packs, seeded as editable ``SafetyRule`` rows.

The packs are data so compliance teams can tune them in the admin without a deploy. ``rules_sync`` only
adds missing rows: it never overwrites a row an admin edited (verdict, advice, active), so it is safe to
run on every deploy and from ``seed_demo``.

Regex rules run on folded text (lower case, accents removed; see ``local.fold``). The healthcare claims
use a negative lookahead so a claim followed by a citation in the same sentence ("[1]", "(source: ...)",
"(ref ...)") is not flagged.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from studio.core.models import Sector
from studio.safety.models import SafetyRule, SafetyVerdict

R, B = SafetyVerdict.REVIEW.value, SafetyVerdict.BLOCK.value

_NO_CITATION = r"(?![^.!?\n]*(?:\[\d+\]|\(source|\(ref|\(see ))"


@dataclass(frozen=True)
class RuleSeed:
    sector: str
    category: str
    pattern: str
    verdict: str
    advice: str
    is_regex: bool = False


_RETURNS = (
    "is a regulated financial claim. Remove the promise of returns or add the required risk wording "
    "(the value of investments can go down as well as up)."
)
_CHILD_DATA = (
    "asks children for personal or payment details. Remove it: children's media may not collect "
    "personal data or payment details from children."
)

PACKS: tuple[RuleSeed, ...] = (
    # Financial services: promises of returns and denial of risk.
    RuleSeed(Sector.FINANCIAL, "financial_promise", "guaranteed returns", B, f'"guaranteed returns" {_RETURNS}'),
    RuleSeed(Sector.FINANCIAL, "financial_promise", "guaranteed return", B, f'"guaranteed return" {_RETURNS}'),
    RuleSeed(Sector.FINANCIAL, "financial_promise", "guaranteed profit", B, f'"guaranteed profit" {_RETURNS}'),
    RuleSeed(Sector.FINANCIAL, "financial_promise", "double your money", B, f'"double your money" {_RETURNS}'),
    RuleSeed(Sector.FINANCIAL, "financial_promise", "get rich quick", B, f'"get rich quick" {_RETURNS}'),
    RuleSeed(
        Sector.FINANCIAL,
        "risk_denial",
        "risk-free",
        B,
        '"risk-free" denies investment risk. Remove it and add the required risk wording.',
    ),
    RuleSeed(
        Sector.FINANCIAL,
        "risk_denial",
        "can't lose",
        B,
        '"can\'t lose" denies investment risk. Remove it and add the required risk wording.',
    ),
    RuleSeed(
        Sector.FINANCIAL,
        "risk_denial",
        "cannot lose",
        B,
        '"cannot lose" denies investment risk. Remove it and add the required risk wording.',
    ),
    RuleSeed(
        Sector.FINANCIAL,
        "risk_denial",
        "no risk",
        R,
        '"no risk" may deny investment risk. Compliance will check the context and risk wording.',
    ),
    RuleSeed(
        Sector.FINANCIAL,
        "performance_claim",
        "beat the market",
        R,
        '"beat the market" is a performance claim. Compliance will check it is fair and evidenced.',
    ),
    # Healthcare: efficacy claims need evidence.
    RuleSeed(
        Sector.HEALTHCARE,
        "health_claim",
        r"\bcur(?:es?|ing)\b" + _NO_CITATION,
        R,
        'A claim that something "cures" needs a citation, e.g. "[1]" or "(source: ...)". Add one or soften '
        'the claim ("may help with").',
        is_regex=True,
    ),
    RuleSeed(
        Sector.HEALTHCARE,
        "health_claim",
        r"\bclinically[\s-]+(?:proven|tested)\b" + _NO_CITATION,
        R,
        '"Clinically proven" needs a citation to the study, e.g. "[1]" or "(source: ...)". Add one or '
        "remove the claim.",
        is_regex=True,
    ),
    RuleSeed(
        Sector.HEALTHCARE,
        "health_claim",
        "miracle cure",
        B,
        '"miracle cure" is an unsupportable health claim. Remove it.',
    ),
    RuleSeed(
        Sector.HEALTHCARE,
        "health_claim",
        "100% effective",
        R,
        '"100% effective" is an absolute efficacy claim. Compliance will ask for the evidence.',
    ),
    RuleSeed(
        Sector.HEALTHCARE,
        "health_claim",
        "no side effects",
        R,
        '"no side effects" is a safety claim. Compliance will ask for the evidence.',
    ),
    # Children's media: collecting personal data, payment, secrecy, unsafe activities.
    RuleSeed(Sector.CHILDRENS_MEDIA, "child_data", "send us your address", B, f'"send us your address" {_CHILD_DATA}'),
    RuleSeed(Sector.CHILDRENS_MEDIA, "child_data", "tell us your address", B, f'"tell us your address" {_CHILD_DATA}'),
    RuleSeed(
        Sector.CHILDRENS_MEDIA,
        "child_data",
        "send us your phone number",
        B,
        f'"send us your phone number" {_CHILD_DATA}',
    ),
    RuleSeed(
        Sector.CHILDRENS_MEDIA,
        "child_data",
        "what's your name and address",
        B,
        f'"what\'s your name and address" {_CHILD_DATA}',
    ),
    RuleSeed(
        Sector.CHILDRENS_MEDIA,
        "child_data",
        "ask your parents for their card",
        B,
        f'"ask your parents for their card" {_CHILD_DATA}',
    ),
    RuleSeed(
        Sector.CHILDRENS_MEDIA,
        "child_data",
        "ask your parents for their credit card",
        B,
        f'"ask your parents for their credit card" {_CHILD_DATA}',
    ),
    RuleSeed(
        Sector.CHILDRENS_MEDIA,
        "child_safety",
        "don't tell your parents",
        B,
        '"don\'t tell your parents" encourages secrecy from parents. Remove it.',
    ),
    RuleSeed(
        Sector.CHILDRENS_MEDIA,
        "unsafe_activity",
        "try this at home",
        R,
        '"try this at home" may encourage an unsafe activity. Compliance will check; consider "ask a grown-up '
        'to help".',
    ),
    RuleSeed(
        Sector.CHILDRENS_MEDIA,
        "unsafe_activity",
        "do this at home",
        R,
        '"do this at home" may encourage an unsafe activity. Compliance will check; consider "ask a grown-up to help".',
    ),
)


@transaction.atomic
def rules_sync() -> int:
    """Create any missing pack rule; leave existing (possibly admin-edited) rows alone. Returns how many
    rows were created. Rules are global reference data, not a workspace's state, so there is no
    workspace audit chain to write to; admin edits are recorded by Django's admin log."""
    created = 0
    for seed in PACKS:
        _, was_created = SafetyRule.objects.get_or_create(
            sector=seed.sector,
            category=seed.category,
            pattern=seed.pattern,
            defaults={"is_regex": seed.is_regex, "verdict": seed.verdict, "advice": seed.advice},
        )
        created += int(was_created)
    return created
