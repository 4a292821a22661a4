"""Tables other features own that the reports read when they are part of the schema (certificates).
Until a feature is installed its figures are shown as not available, never made up."""

from __future__ import annotations

from sqlalchemy import Table

from learning.extensions import db


def _table(name: str) -> Table | None:
    return db.metadata.tables.get(name)


def certificates() -> Table | None:
    return _table("certificates")
