"""Ids that arrive as text (POST bodies, query strings, form choices), parsed one way everywhere.

A primary key is a signed 64-bit integer (``BigAutoField``). A longer run of digits reaches the database
and answers 500 (SQLite raises ``OverflowError`` binding it, in ``pk__in`` lookups and in
``ModelMultipleChoiceField``), and ``str.isdigit()`` also accepts characters ``int()`` refuses (``"²"``).
So a value is an id only when it is 1 to 19 ASCII digits within that range; anything else is "no such
item" — the visitor sees the same answer as for an id that was deleted.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

#: The largest value a signed 64-bit primary key (``BigAutoField``) can hold.
MAX_ID = 2**63 - 1
GONE = "One of the chosen items no longer exists. Reload the page and choose again."


def parse_id(raw: Any) -> int | None:
    """``raw`` as a primary key, or None when no row could have it (not digits, zero, beyond 64 bits)."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if 0 < raw <= MAX_ID else None
    text = str(raw).strip() if raw is not None else ""
    if not (0 < len(text) <= 19 and text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def parse_ids(raws: Iterable[Any]) -> list[int]:
    """The values of ``raws`` that can be ids, in order, without duplicates; the rest are dropped."""
    return list(dict.fromkeys(pk for pk in map(parse_id, raws) if pk is not None))


class IdModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """A ``ModelMultipleChoiceField`` that refuses a value no primary key can hold before it queries (the
    stock field sends it to the database: a 500 on SQLite), with the plain "no longer exists" message for
    it and for any other id that is not among the choices."""

    default_error_messages = {"invalid_choice": GONE, "invalid_pk_value": GONE}

    def _check_values(self, value):
        if self.to_field_name is None:
            for raw in value:
                if parse_id(raw) is None:
                    raise ValidationError(self.error_messages["invalid_pk_value"], code="invalid_pk_value")
        return super()._check_values(value)


def parse_count(raw: Any, *, cap: int) -> int:
    """A small counter from a query string (a poll's number), at most ``cap``; 0 when ``raw`` is not one."""
    text = str(raw).strip() if raw is not None else ""
    if not (0 < len(text) <= 9 and text.isascii() and text.isdigit()):
        return 0
    return min(int(text), cap)
