"""Policy tables per sector, workspace overrides, and the combined-verdict property."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from studio.core.models import Workspace
from studio.safety.models import AssessmentStatus
from studio.safety.policy import PolicyConfigError, SafetyPolicy, policy_errors, policy_for
from studio.safety.services import combine
from studio.safety.types import VERDICT_RANK, ScreenerResult

# (sector, category, severity) -> verdict, before the regulated floor is applied.
TABLE = [
    ("general", "Hate", 0, "allow"),
    ("general", "Hate", 2, "review"),
    ("general", "Hate", 4, "block"),
    ("general", "Violence", 2, "allow"),
    ("general", "Violence", 4, "review"),
    ("general", "Violence", 6, "block"),
    ("general", "SexualMinors", 1, "block"),
    ("general", "Jailbreak", 6, "block"),
    ("general", "Blocklist", 6, "block"),
    ("general", "something-new", 3, "review"),
    ("general", "self-harm/intent", 4, "block"),
    ("general", "Hate", None, "allow"),
    ("financial", "Illicit", 2, "block"),
    ("financial", "Violence", 4, "review"),
    ("healthcare", "SelfHarm", 2, "block"),
    ("healthcare", "Violence", 4, "block"),
    ("childrens_media", "Violence", 1, "review"),
    ("childrens_media", "Violence", 4, "block"),
    ("childrens_media", "Sexual", 1, "block"),
    ("childrens_media", "Hate", 1, "block"),
    ("childrens_media", "Profanity", 2, "block"),
]


@pytest.mark.parametrize(("sector", "category", "severity", "verdict"), TABLE)
def test_sector_presets(sector, category, severity, verdict):
    assert policy_for(Workspace(sector=sector)).verdict_for(category, severity) == verdict


@pytest.mark.parametrize(
    ("sector", "regulated", "minimum"),
    [
        ("general", False, "allow"),
        ("general", True, "review"),
        ("financial", False, "review"),
        ("healthcare", False, "review"),
        ("childrens_media", False, "review"),
    ],
)
def test_regulated_workspaces_send_everything_through_compliance(sector, regulated, minimum):
    policy = policy_for(Workspace(sector=sector, regulated=regulated))
    assert policy.floor("allow") == minimum
    assert policy.floor("block") == "block"
    assert policy.floor("pending") == "pending"


def test_workspace_overrides_replace_a_category_table_and_cannot_lower_the_regulated_floor():
    ws = Workspace(sector="financial", safety_policy={"violence": {"1": "block"}, "minimum": "allow"})
    policy = policy_for(ws)
    assert policy.verdict_for("Violence", 1) == "block"
    assert policy.verdict_for("Hate", 2) == "review"  # untouched categories keep the preset
    assert policy.floor("allow") == "review"


def test_general_workspace_may_raise_its_floor():
    assert policy_for(Workspace(safety_policy={"minimum": "review"})).floor("allow") == "review"


def test_broken_overrides_are_refused_in_plain_words():
    bad = {"Violence": {"nine": "blok"}, "minimum": "maybe"}
    errors = policy_errors(bad)
    assert len(errors) == 3
    assert any("0 to 7" in e for e in errors)
    with pytest.raises(PolicyConfigError, match="safety policy"):
        policy_for(Workspace(safety_policy=bad))


VERDICTS = st.sampled_from(["allow", "review", "block", "pending"])
RESULT = st.builds(
    lambda verdict, skipped: ScreenerResult(
        screener="azure",
        verdict="pending" if skipped else verdict,
        status=AssessmentStatus.SKIPPED_FAIL_OPEN
        if skipped
        else (AssessmentStatus.ERROR if verdict == "pending" else AssessmentStatus.COMPLETE),
    ),
    VERDICTS,
    st.booleans(),
)
POLICIES = st.builds(
    lambda minimum, regulated: SafetyPolicy(sector="general", minimum=minimum, tables={}, regulated=regulated),
    st.sampled_from(["allow", "review", "block"]),
    st.booleans(),
)


@given(results=st.lists(RESULT, min_size=1, max_size=5), policy=POLICIES)
def test_combined_verdict_is_never_weaker_than_any_screener(results, policy):
    screening = combine(results=results, policy=policy, stage="prompt", only_local=False)
    for result in results:
        if result.status != AssessmentStatus.SKIPPED_FAIL_OPEN:
            assert VERDICT_RANK[screening.verdict] >= VERDICT_RANK[result.verdict]
    assert screening.pending == (screening.verdict == "pending")
    assert screening.message
