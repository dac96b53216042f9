"""URL path converters shared by every app's ``urls.py``.

Django's ``<int:...>`` matches any run of digits; a value beyond 64 bits then reaches the database and
answers 500 (SQLite raises ``OverflowError`` binding it). ``<id:...>`` matches the same digits but refuses
a value no primary key can hold, so the URL resolves to nothing and the visitor gets a 404.
"""

from django.urls.converters import IntConverter, get_converters, register_converter

from studio.lib.ids import MAX_ID

__all__ = ["MAX_ID", "IdConverter", "register_id_converter"]


class IdConverter(IntConverter):
    """Digits within a 64-bit primary key's range; anything larger does not match (404)."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise ValueError("id beyond 64 bits")
        return number


def register_id_converter() -> None:
    """Register ``<id:...>`` once; each ``urls.py`` calls it before its patterns (idempotent)."""
    if "id" not in get_converters():
        register_converter(IdConverter, "id")
