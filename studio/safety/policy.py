"""Which verdict a category at a given severity earns, per workspace.

A policy is data: a sector preset (general, financial, healthcare, children's media) with the
workspace's ``safety_policy`` overrides on top. Severities use Azure's 0..7 scale (four-level outputs
are 0/2/4/6; OpenAI scores and provider filter levels are mapped onto it), so one table serves every
screener. A table ``{"2": "review", "4": "block"}`` means: severity 2-3 -> review, 4 and above ->
block, below 2 -> allow.

Verdicts: allow (brand review only), review (brand, then compliance), block (cannot be submitted;
a prompt is refused before any money is spent). Regulated workspaces never go below "review", so
compliance sees everything they make.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from studio.core.models import Sector, Workspace
from studio.safety.models import SafetyVerdict
from studio.safety.types import VERDICT_RANK, strictest

A, R, B = SafetyVerdict.ALLOW.value, SafetyVerdict.REVIEW.value, SafetyVerdict.BLOCK.value
FINAL_VERDICTS = (A, R, B)

# Canonical category names (Azure's spelling where Azure has one).
HATE, HARASSMENT, SELF_HARM, SEXUAL, SEXUAL_MINORS = "Hate", "Harassment", "SelfHarm", "Sexual", "SexualMinors"
VIOLENCE, ILLICIT, JAILBREAK, BLOCKLIST, PROFANITY = "Violence", "Illicit", "Jailbreak", "Blocklist", "Profanity"
DEFAULT = "Default"  # any category the table does not name
CATEGORIES = (
    HATE,
    HARASSMENT,
    SELF_HARM,
    SEXUAL,
    SEXUAL_MINORS,
    VIOLENCE,
    ILLICIT,
    JAILBREAK,
    BLOCKLIST,
    PROFANITY,
    DEFAULT,
)

CATEGORY_WORDS = {
    HATE: "hateful content",
    HARASSMENT: "harassment",
    SELF_HARM: "self-harm",
    SEXUAL: "sexual content",
    SEXUAL_MINORS: "sexual content involving minors",
    VIOLENCE: "violence",
    ILLICIT: "illegal activity",
    JAILBREAK: "an attempt to get around the safety rules",
    BLOCKLIST: "a term on your brand's blocklist",
    PROFANITY: "profanity",
    DEFAULT: "sensitive content",
}

Table = dict[int, str]

_GENERAL: dict[str, Table] = {
    HATE: {2: R, 4: B},
    HARASSMENT: {2: R, 4: B},
    SELF_HARM: {2: R, 4: B},
    SEXUAL: {2: R, 4: B},
    SEXUAL_MINORS: {1: B},
    VIOLENCE: {4: R, 6: B},  # low-level action (sport, slapstick) is ordinary in marketing
    ILLICIT: {2: R, 4: B},
    JAILBREAK: {1: B},
    BLOCKLIST: {1: B},
    PROFANITY: {1: R},
    DEFAULT: {2: R, 4: B},
}

PRESETS: dict[str, dict[str, Any]] = {
    Sector.GENERAL: {"minimum": A, "tables": _GENERAL},
    Sector.FINANCIAL: {"minimum": R, "tables": {**_GENERAL, ILLICIT: {1: R, 2: B}}},
    Sector.HEALTHCARE: {"minimum": R, "tables": {**_GENERAL, SELF_HARM: {1: R, 2: B}, VIOLENCE: {2: R, 4: B}}},
    Sector.CHILDRENS_MEDIA: {
        "minimum": R,
        "tables": {
            **_GENERAL,
            HATE: {1: B},
            HARASSMENT: {1: B},
            SELF_HARM: {1: B},
            SEXUAL: {1: B},
            VIOLENCE: {1: R, 4: B},
            ILLICIT: {1: B},
            PROFANITY: {1: B},
            DEFAULT: {1: R, 2: B},
        },
    },
}

_ALIASES = {re.sub(r"[^a-z]", "", name.lower()): name for name in CATEGORIES}
_ALIASES.update(
    {
        "selfharm": SELF_HARM,
        "sexualminors": SEXUAL_MINORS,
        "illicitviolent": ILLICIT,
        "hatethreatening": HATE,
        "harassmentthreatening": HARASSMENT,
        "violencegraphic": VIOLENCE,
        "selfharminstructions": SELF_HARM,
        "selfharmintent": SELF_HARM,
        "customblocklists": BLOCKLIST,
    }
)


def category_canonical(name: str) -> str:
    """Map any spelling (Azure "SelfHarm", OpenAI "self-harm/intent", provider "self_harm") to the
    policy's category; unknown names map to themselves and are judged by the Default table."""
    return _ALIASES.get(re.sub(r"[^a-z]", "", name.lower()), name)


def category_words(name: str) -> str:
    return CATEGORY_WORDS.get(category_canonical(name), name.replace("_", " "))


class PolicyConfigError(ValueError):
    """The workspace's safety_policy overrides cannot be read; screening refuses to guess."""


def policy_errors(overrides: Any) -> list[str]:
    """Problems with a ``safety_policy`` value, in words an admin can fix (empty list = valid)."""
    if not isinstance(overrides, Mapping):
        return ['The safety policy must be an object such as {"Violence": {"2": "review", "4": "block"}}.']
    errors = []
    for key, value in overrides.items():
        if key == "minimum":
            if value not in FINAL_VERDICTS:
                errors.append(f'"minimum" must be one of {", ".join(FINAL_VERDICTS)}, not {value!r}.')
            continue
        if not isinstance(value, Mapping) or not value:
            errors.append(f'{key}: give severities and verdicts, e.g. {{"2": "review", "4": "block"}}.')
            continue
        for severity, verdict in value.items():
            if not str(severity).isdigit() or not 0 <= int(severity) <= 7:
                errors.append(f"{key}: severity {severity!r} must be a whole number from 0 to 7.")
            if verdict not in FINAL_VERDICTS:
                errors.append(f"{key}: verdict {verdict!r} must be one of {', '.join(FINAL_VERDICTS)}.")
    return errors


@dataclass(frozen=True)
class SafetyPolicy:
    sector: str
    minimum: str
    tables: dict[str, Table]
    regulated: bool

    def verdict_for(self, category: str, severity: int | None) -> str:
        """The verdict for one category at one severity (``None`` = not assessed -> allow)."""
        if severity is None:
            return A
        table = self.tables.get(category_canonical(category)) or self.tables[DEFAULT]
        verdict = A
        for threshold in sorted(table):
            if severity >= threshold:
                verdict = table[threshold]
        return verdict

    def floor(self, verdict: str) -> str:
        """Apply the minimum (regulated workspaces: review). Pending and block pass through."""
        return strictest([verdict, self.minimum])

    @property
    def minimum_reason(self) -> str:
        if self.minimum == A:
            return ""
        sector = Sector(self.sector).label if self.sector in Sector.values else self.sector
        return (
            f"policy: regulated workspace ({sector}) - everything goes through compliance"
            if self.regulated
            else f"policy: workspace minimum is {self.minimum}"
        )


def policy_for(workspace: Workspace) -> SafetyPolicy:
    """The sector preset with the workspace's overrides applied."""
    overrides = workspace.safety_policy or {}
    problems = policy_errors(overrides)
    if problems:
        raise PolicyConfigError("The workspace's safety policy has problems: " + " ".join(problems))
    preset = PRESETS.get(workspace.sector, PRESETS[Sector.GENERAL])
    tables = dict(preset["tables"])
    for key, value in overrides.items():
        if key != "minimum":
            tables[category_canonical(key)] = {int(sev): verdict for sev, verdict in value.items()}
    minimum = preset["minimum"]
    if "minimum" in overrides:
        minimum = overrides["minimum"]
    if workspace.is_regulated:
        minimum = strictest([minimum, R])  # overrides may raise the floor, never lower it below review
    return SafetyPolicy(sector=workspace.sector, minimum=minimum, tables=tables, regulated=workspace.is_regulated)


def score_to_severity(score: float, *, flagged: bool = False) -> int:
    """OpenAI moderation scores (0..1) onto the 0/2/4/6 scale. A flagged category is at least 4, so
    the model's own judgement is never weaker here than it was at OpenAI."""
    severity = 6 if score >= 0.8 else 4 if score >= 0.5 else 2 if score >= 0.2 else 0
    return max(severity, 4) if flagged else severity


PROVIDER_SEVERITY = {"safe": 0, "low": 2, "medium": 4, "high": 6}

__all__ = [
    "VERDICT_RANK",
    "PolicyConfigError",
    "SafetyPolicy",
    "category_canonical",
    "category_words",
    "policy_errors",
    "policy_for",
    "score_to_severity",
]
