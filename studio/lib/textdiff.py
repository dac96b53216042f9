"""Readable differences between two versions of a prompt: word by word for text, key by key for named
values (template values, in-image copy per locale). Pure Python: the studio renders the result."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

_WORDS = re.compile(r"\s+|\w+|[^\w\s]")  # words, and each punctuation mark on its own


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """A word-level diff of two texts as ``(kind, text)`` runs, kind one of ``equal``, ``insert``,
    ``delete``. Whitespace is its own token, so the result reads like the new text with the changes
    marked, not a list of lines. A marked run starts and ends with a word: whitespace at its edges is
    shown unmarked (an underline never trails into a blank), a deleted line break is shown as a space and
    a change of whitespace alone is not marked, since struck-through blank lines read as gaps."""
    a, b = _WORDS.findall(old or ""), _WORDS.findall(new or "")
    runs: list[tuple[str, str]] = []

    def add(kind: str, text: str) -> None:
        if not text:
            return
        if runs and runs[-1][0] == kind:
            runs[-1] = (kind, runs[-1][1] + text)
        else:
            runs.append((kind, text))

    def add_change(kind: str, text: str) -> None:
        if not text.strip():
            if kind == "insert":  # whitespace the new text has: shown, not marked
                add("equal", text)
            return
        lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()) :]
        if kind == "delete":  # the old text's blanks: one space keeps the struck word apart, no gap
            lead, trail = (" " if lead else ""), (" " if trail else "")
        add("equal", lead)
        add(kind, text.strip())
        add("equal", trail)

    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            add("equal", "".join(a[i1:i2]))
        else:
            add_change("delete", "".join(a[i1:i2]))
            add_change("insert", "".join(b[j1:j2]))
    return runs


@dataclass(frozen=True)
class KeyChange:
    """One named value that differs: ``kind`` is ``added``, ``removed`` or ``changed``."""

    key: str
    kind: str
    old: str
    new: str

    @property
    def label(self) -> str:
        return {"added": "Added", "removed": "Removed", "changed": "Changed"}[self.kind]


KIND_ORDER = {"changed": 0, "added": 1, "removed": 2}


def keyed_diff(old: dict | None, new: dict | None) -> list[KeyChange]:
    """What changed between two ``{name: value}`` maps, by name: changed, then added, then removed, each
    in name order (JSON columns do not keep insertion order on every database); unchanged names are left
    out."""
    old, new = old or {}, new or {}
    changes: list[KeyChange] = []
    for key, value in new.items():
        if key not in old:
            changes.append(KeyChange(str(key), "added", "", str(value)))
        elif str(old[key]) != str(value):
            changes.append(KeyChange(str(key), "changed", str(old[key]), str(value)))
    changes.extend(KeyChange(str(key), "removed", str(value), "") for key, value in old.items() if key not in new)
    return sorted(changes, key=lambda c: (KIND_ORDER[c.kind], c.key))
