"""Local rules: the workspace blocklist and the sector rule packs. Always on, no network.

Matching runs on a *folded* copy of the text (compatibility-normalised, Latin-style accents removed,
case-folded, typographic quotes and dashes unified) and every hit is mapped back to a span of the
original text, so the UI can highlight exactly what the marketer wrote.

"Whole word" needs care across scripts: for scripts written without spaces (Chinese, Japanese, Thai,
Lao, Khmer, Myanmar, Tibetan) and for Korean, whose particles attach to the word before them, a term
matches anywhere in the text; elsewhere it must not be glued to
letters, digits or combining marks on either side (so "cures" does not match "secures", and a
Devanagari term does not match inside a longer word).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from studio.core.models import Workspace
from studio.safety.models import AssessmentStatus, SafetyRule, SafetyVerdict, Screener
from studio.safety.policy import BLOCKLIST, SafetyPolicy
from studio.safety.types import ScreenerResult, strictest

# Combining marks that are accents on Latin/Greek/Cyrillic letters. Marks of other scripts (Devanagari
# vowel signs and virama, Thai tone marks, kana voicing marks) carry meaning and are kept.
_ACCENT_RANGES = ((0x0300, 0x036F), (0x1AB0, 0x1AFF), (0x1DC0, 0x1DFF), (0x20D0, 0x20FF), (0xFE20, 0xFE2F))
_PUNCT_FOLD = {
    "\u2018": "'",
    "\u2019": "'",
    "\u02bc": "'",
    "\u2032": "'",
    "\uff07": "'",
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2212": "-",
    "\u00a0": " ",
    "\u3000": " ",
}
_NO_SPACE_SCRIPTS = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x0F00, 0x0FFF),  # Tibetan
    (0x1000, 0x109F),  # Myanmar
    (0x1100, 0x11FF),  # Hangul jamo (what NFKD makes of Korean syllables)
    (0x1780, 0x17FF),  # Khmer
    (0x2E80, 0x2FDF),  # CJK radicals
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x31F0, 0x31FF),
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified
    (0xAC00, 0xD7AF),  # Hangul syllables
    (0xF900, 0xFAFF),
    (0xFF66, 0xFF9F),  # half-width katakana
    (0x20000, 0x3FFFF),
)


def _is_accent(ch: str) -> bool:
    code = ord(ch)
    return any(lo <= code <= hi for lo, hi in _ACCENT_RANGES)


def _is_word_char(ch: str) -> bool:
    return ch == "_" or unicodedata.category(ch)[0] in "LMN"


def _is_no_space_script(ch: str) -> bool:
    code = ord(ch)
    return any(lo <= code <= hi for lo, hi in _NO_SPACE_SCRIPTS)


@dataclass(frozen=True)
class FoldedText:
    text: str
    origin: tuple[int, ...]  # origin[i] = index in the original text of folded character i

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a folded span back onto the original text."""
        return self.origin[start], self.origin[end - 1] + 1


def fold(text: str) -> FoldedText:
    chars: list[str] = []
    origin: list[int] = []
    for index, ch in enumerate(text):
        ch = _PUNCT_FOLD.get(ch, ch)
        for piece in unicodedata.normalize("NFKD", ch):
            if _is_accent(piece):
                continue
            for out in _PUNCT_FOLD.get(piece, piece).casefold():
                chars.append(out)
                origin.append(index)
    return FoldedText("".join(chars), tuple(origin))


def fold_plain(text: str) -> str:
    return fold(text).text


@lru_cache(maxsize=2048)
def term_pattern(term: str) -> tuple[re.Pattern[str], bool]:
    """A compiled pattern for a phrase, and whether it needs whole-word boundaries. Spaces and hyphens
    between words are interchangeable ("risk free" matches "risk-free")."""
    folded = fold_plain(term).strip()
    parts = [re.escape(part) for part in re.split(r"[\s\-]+", folded) if part]
    pattern = re.compile(r"[\s\-]+".join(parts))
    whole_word = not any(_is_no_space_script(ch) for ch in folded)
    return pattern, whole_word


def _bounded(folded: str, start: int, end: int) -> bool:
    before_ok = start == 0 or not _is_word_char(folded[start - 1])
    after_ok = end >= len(folded) or not _is_word_char(folded[end])
    return before_ok and after_ok


def find_term(folded: FoldedText, term: str) -> list[tuple[int, int]]:
    """Spans (in the original text) where ``term`` occurs, whole-word where the script has spaces."""
    if not term.strip():
        return []
    pattern, whole_word = term_pattern(term)
    spans = []
    for m in pattern.finditer(folded.text):
        if m.end() > m.start() and (not whole_word or _bounded(folded.text, m.start(), m.end())):
            spans.append(folded.span(m.start(), m.end()))
    return spans


@lru_cache(maxsize=512)
def rule_regex(pattern: str) -> re.Pattern[str] | None:
    """Rule regexes are written for lower-case, accent-free text (they run on the folded text)."""
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error:
        return None


def find_rule(folded: FoldedText, rule: SafetyRule) -> list[tuple[int, int]]:
    if rule.is_regex:
        compiled = rule_regex(rule.pattern)
        if compiled is None:  # an unreadable regex still protects: it is matched as a plain phrase
            return find_term(folded, rule.pattern)
        return [folded.span(m.start(), m.end()) for m in compiled.finditer(folded.text) if m.end() > m.start()]
    return find_term(folded, rule.pattern)


def rules_for(workspace: Workspace) -> list[SafetyRule]:
    """Active rules for the workspace's sector plus rules that apply everywhere (blank sector)."""
    return list(SafetyRule.objects.filter(active=True, sector__in=["", workspace.sector]).order_by("pk"))


def local_screen(
    *, workspace: Workspace, text: str, policy: SafetyPolicy, rules: list[SafetyRule] | None = None
) -> ScreenerResult:
    """Blocklist terms and rule packs over ``text``. Never fails: no network, no writes."""
    folded = fold(text)
    matches: list[dict[str, Any]] = []
    blocklist_verdict = policy.verdict_for(BLOCKLIST, 6)
    for term in workspace.blocklist_terms or []:
        if not isinstance(term, str):
            continue
        for start, end in find_term(folded, term):
            matches.append(
                {
                    "term": text[start:end],
                    "rule": f"blocklist: {term}",
                    "start": start,
                    "end": end,
                    "category": BLOCKLIST,
                    "verdict": blocklist_verdict,
                    "advice": (
                        f'"{text[start:end]}" is on your brand\'s blocklist. Remove it or choose different wording.'
                    ),
                }
            )
    for rule in rules if rules is not None else rules_for(workspace):
        for start, end in find_rule(folded, rule):
            matches.append(
                {
                    "term": text[start:end],
                    "rule": f"{rule.sector or 'all'}/{rule.category}: {rule.pattern}",
                    "rule_id": rule.pk,
                    "start": start,
                    "end": end,
                    "category": rule.category,
                    "verdict": rule.verdict,
                    "advice": rule.advice,
                }
            )
    matches.sort(key=lambda m: (m["start"], m["end"]))
    verdict = strictest(m["verdict"] for m in matches)
    categories: dict[str, str] = {}
    for m in matches:
        categories[m["category"]] = strictest([categories.get(m["category"], SafetyVerdict.ALLOW), m["verdict"]])
    decisive = next((m for m in matches if m["verdict"] == verdict), None) if matches else None
    if decisive is None:
        explanation = "No blocklist term or rule-pack phrase found."
        decided_by = ""
    else:
        explanation = f'{len(matches)} hit(s); decisive: "{decisive["term"]}" ({decisive["rule"]}).'
        decided_by = f"local: {decisive['rule']}"
    return ScreenerResult(
        screener=Screener.LOCAL,
        status=AssessmentStatus.COMPLETE,
        verdict=verdict,
        categories=[
            {"category": c, "severity": None, "verdict": v, "assessed": True, "raw": c} for c, v in categories.items()
        ],
        matches=matches,
        decided_by=decided_by,
        explanation=explanation,
    )
