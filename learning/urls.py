"""URL converters: ``<int:...>`` stays within the database's integer range, and ``<...>`` (a string) holds no
control character."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter, UnicodeConverter

# PostgreSQL's INTEGER (and so every id column here); SQLite's is wider but no id here comes near it
MAX_ID = 2**31 - 1


def whole_number(text: str, maximum: int = MAX_ID) -> int | None:
    """The number written in ``text`` with the ASCII digits 0-9 and at most ``maximum``, else None.

    ``str.isdigit`` alone is not enough before ``int``: it is true for "²", which ``int`` refuses, and for
    Arabic-Indic digits, which ``int`` reads; and ``int`` refuses more than 4,300 digits. Each of those
    raised in a view (a 500) or reached the database out of range.
    """
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(maximum)):
        return None
    number = int(text)
    return number if number <= maximum else None


class DatabaseIdConverter(IntegerConverter):
    """An ``int`` converter whose values fit an id column: a larger number cannot name a row, so the URL
    does not match (404) instead of reaching the driver, which overflows (a 500, found by tests/fuzz)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - Werkzeug's name
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


class TextConverter(UnicodeConverter):
    """The default converter, without control characters: no slug or code here holds one, and a NUL
    reached PostgreSQL, which refuses it in a query (a 500, found by tests/fuzz at 100 cases per rule)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - Werkzeug's name
        super().__init__(map, *args, **kwargs)
        self.regex = self.regex.replace("[^/]", r"[^/\x00-\x1f\x7f]", 1)


def register(app: Flask) -> None:
    """Install the converters; before any blueprint, since rules bind their converters when added."""
    app.url_map.converters["int"] = DatabaseIdConverter
    app.url_map.converters["default"] = TextConverter
    app.url_map.converters["string"] = TextConverter
