"""URL converters: ``<int:...>`` stays within the database's integer range."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

# PostgreSQL's INTEGER (and so every id column here); SQLite's is wider but no id here comes near it
MAX_ID = 2**31 - 1


class DatabaseIdConverter(IntegerConverter):
    """An ``int`` converter whose values fit an id column: a larger number cannot name a row, so the URL
    does not match (404) instead of reaching the driver, which overflows (a 500, found by tests/fuzz)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - Werkzeug's name
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def register(app: Flask) -> None:
    """Install the converters; before any blueprint, since rules bind their converters when added."""
    app.url_map.converters["int"] = DatabaseIdConverter
