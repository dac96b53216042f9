"""The subject-kind registry and the event groups' titles: one meaning per machine name, words for a
subject whose row is gone, and sentences that open with their subject start with a capital."""

from __future__ import annotations

import pytest

from approvals.compliance.forms import event_type_choices
from studio.core.events import EventRegistry, EventType
from studio.core.subjects import SubjectKind, SubjectRegistry


def _kind(**overrides) -> SubjectKind:
    return SubjectKind(
        **{
            "kind": "runs.productionrun",
            "title": "Production run",
            "noun": "production run",
            "model": "runs.ProductionRun",
            **overrides,
        }
    )


def test_a_kind_is_declared_once():
    registry = SubjectRegistry()
    kind = registry.register(_kind())
    assert registry.register(kind) is kind  # importing the same declaration again is harmless
    with pytest.raises(ValueError, match="registered twice"):
        registry.register(_kind(title="Run"))


def test_a_kind_without_a_label_or_a_row_reads_as_its_noun_and_number():
    kind = _kind(label=lambda values, pk: "")
    assert kind.words({"pk": 8}, "8") == "production run #8"
    assert kind.gone("8") == "production run #8"
    assert kind.target({}, "8", "acme") is None


def test_a_group_has_one_title():
    registry = EventRegistry()
    registry.title_group("runs.run", "Production runs")
    registry.title_group("runs.run", "Production runs")
    with pytest.raises(ValueError, match="titled twice"):
        registry.title_group("runs.run", "Runs")
    assert registry.group_title("runs.cell") == "runs.cell"  # untitled: its machine name


def test_a_sentence_that_opens_with_its_subject_starts_with_a_capital():
    finished = EventType(action="runs.run.finished", label="Run finished", message="{subject} ended", subject_kind="")
    assert finished.render(actor="ann", subject="production run #8", data={}) == "Production run #8 ended"
    started = EventType(
        action="runs.run.launched", label="Run launched", message="{actor} launched {subject}", subject_kind=""
    )
    assert started.render(actor="ann", subject="production run #8", data={}) == "ann launched production run #8"


def test_group_titles_keep_their_acronyms_after_any():
    any_options = {options[0] for _title, options in event_type_choices()[1:]}
    assert ("api.key.", "Any: API keys") in any_options
    assert ("approvals.review.", "Any: reviews") in any_options
