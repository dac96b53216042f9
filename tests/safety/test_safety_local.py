"""Local rules: blocklist terms and sector rule packs, across scripts, with spans for highlighting."""

from __future__ import annotations

import pytest

from studio.safety.local import find_term, fold, local_screen, rule_regex
from studio.safety.models import SafetyRule
from studio.safety.policy import policy_for
from studio.safety.rulepacks import rules_sync
from tests import factories as f


def spans(text: str, term: str) -> list[str]:
    return [text[s:e] for s, e in find_term(fold(text), term)]


@pytest.mark.parametrize(
    ("text", "term", "expected"),
    [
        ("Totally Risk-Frée investing", "risk-free", ["Risk-Frée"]),
        ("RISK FREE for a year", "risk-free", ["RISK FREE"]),
        ("You can’t lose with us", "can't lose", ["can’t lose"]),
        ("This secures your data", "cures", []),
        ("It cures colds", "cures", ["cures"]),
        ("Cures!", "cures", ["Cures"]),
        ("Ｇｕａｒａｎｔｅｅｄ returns", "guaranteed returns", ["Ｇｕａｒａｎｔｅｅｄ returns"]),
        ("Straße sale", "strasse", ["Straße"]),
        ("新しい保証付きリターンを約束", "保証付きリターン", ["保証付きリターン"]),
        ("无风险投资产品", "无风险", ["无风险"]),
        ("यह जोखिम मुक्त निवेश है", "जोखिम मुक्त", ["जोखिम मुक्त"]),
        ("यह जोखिममुक्त है", "जोखिम", []),
        ("수익보장을 약속합니다", "수익보장", ["수익보장"]),
    ],
)
def test_terms_match_whole_words_case_and_accent_insensitively_in_any_script(text, term, expected):
    assert spans(text, term) == expected


@pytest.mark.django_db
def test_blocklist_hits_carry_spans_and_advice_and_block(workspace):
    workspace.blocklist_terms = ["RivalCola", "競合"]
    text = "Better than rivalcola, 競合より美味しい"
    result = local_screen(workspace=workspace, text=text, policy=policy_for(workspace), rules=[])
    assert result.verdict == "block"
    assert [(m["term"], text[m["start"] : m["end"]]) for m in result.matches] == [
        ("rivalcola", "rivalcola"),
        ("競合", "競合"),
    ]
    assert "blocklist" in result.matches[0]["advice"]
    assert result.decided_by == "local: blocklist: RivalCola"


@pytest.mark.django_db
def test_rules_sync_seeds_packs_once_and_keeps_admin_edits():
    created = rules_sync()
    assert created > 10
    assert {"financial", "healthcare", "childrens_media"} <= set(SafetyRule.objects.values_list("sector", flat=True))
    rule = SafetyRule.objects.get(sector="financial", pattern="no risk")
    rule.verdict = "block"
    rule.save()
    assert rules_sync() == 0
    rule.refresh_from_db()
    assert rule.verdict == "block"
    for row in SafetyRule.objects.all():
        row.full_clean()  # advice fits the column, verdicts are final
        assert not row.is_regex or rule_regex(row.pattern) is not None


@pytest.fixture
def packs(db):
    rules_sync()


def screen(sector: str, text: str):
    workspace = f.WorkspaceFactory(sector=sector, slug=f"ws-{sector.replace('_', '-')}")
    return local_screen(workspace=workspace, text=text, policy=policy_for(workspace))


@pytest.mark.usefixtures("packs")
def test_financial_pack_blocks_guaranteed_returns_with_advice():
    result = screen("financial", "Guaranteed Returns on every deposit, totally risk-free!")
    assert result.verdict == "block"
    terms = [m["term"] for m in result.matches]
    assert terms == ["Guaranteed Returns", "risk-free"]
    assert "Remove the promise of returns" in result.matches[0]["advice"]


@pytest.mark.usefixtures("packs")
@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("Our balm cures dry skin.", "review"),
        ("Our balm cures dry skin [1].", "allow"),
        ("Clinically proven to soothe (source: J. Derm 2024).", "allow"),
        ("Clinically proven to soothe.", "review"),
        ("It secures the lid.", "allow"),
    ],
)
def test_healthcare_claims_need_a_citation(text, verdict):
    assert screen("healthcare", text).verdict == verdict


@pytest.mark.usefixtures("packs")
def test_childrens_pack_flags_data_collection_and_unsafe_activities():
    result = screen("childrens_media", "Send us your address and try this at home!")
    assert result.verdict == "block"
    assert {m["category"] for m in result.matches} == {"child_data", "unsafe_activity"}


@pytest.mark.usefixtures("packs")
def test_packs_only_apply_to_their_sector():
    assert screen("general", "Guaranteed returns!").verdict == "allow"


@pytest.mark.django_db
def test_inactive_rules_do_not_fire_and_broken_regex_still_matches_as_a_phrase(workspace):
    SafetyRule.objects.create(sector="", category="x", pattern="free lunch", active=False)
    SafetyRule.objects.create(sector="", category="y", pattern="[unclosed", is_regex=True, verdict="block")
    result = local_screen(workspace=workspace, text="A free lunch and [unclosed", policy=policy_for(workspace))
    assert [m["category"] for m in result.matches] == ["y"]
    assert result.verdict == "block"
