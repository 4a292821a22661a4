"""The migrations build, from an empty database, exactly the schema the models describe, and undo it."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, current_app
from flask_migrate import downgrade, upgrade
from sqlalchemy import JSON, inspect

from learning import create_app
from learning.extensions import db
from tests.conftest import app_config
from tests.fixtures.databases import separate_database


@pytest.fixture
def logging_kept() -> Iterator[None]:
    """Undo what migrations/env.py does to logging (fileConfig replaces the root handlers and disables
    every logger it does not name), so that later tests still see the application's log records."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    saved = {name: (lg.disabled, lg.level, lg.handlers[:], lg.propagate) for name, lg in _loggers()}
    yield
    root.handlers[:], root.level = handlers, level
    for name, lg in _loggers():
        lg.disabled, lg.level, lg.handlers[:], lg.propagate = saved.get(name, (False, 0, [], True))


def _loggers() -> list[tuple[str, logging.Logger]]:
    return [(n, lg) for n, lg in logging.Logger.manager.loggerDict.items() if isinstance(lg, logging.Logger)]


@pytest.fixture
def empty_app(tmp_path: Path, logging_kept: None) -> Iterator[Callable[[str], Flask]]:
    """Return a callable that builds an app on a new, empty database of a kind ("sqlite", "postgresql")."""
    with ExitStack() as stack:

        def make(kind: str) -> Flask:
            url = stack.enter_context(separate_database(tmp_path, kind))
            app = create_app(app_config(url, MAIL_FILE_PATH=str(tmp_path / "mail")))
            stack.callback(dispose, app)  # runs before the database is dropped
            return app

        yield make


def dispose(app: Flask) -> None:
    with app.app_context():
        db.engine.dispose()


def compare_defaults(
    context: Any, inspected_column: Any, metadata_column: Any, inspected_default: str | None,
    metadata_default: Any, rendered_metadata_default: str | None,
) -> bool | None:  # fmt: skip
    """Let alembic compare server defaults, but for two cases it gets wrong: an empty string literal
    (its SQLite comparison unquotes only non-empty ones, so DEFAULT '' always differed) and JSON (on
    PostgreSQL it asks the server `'{}'::json = '{}'`, and json has no equality operator)."""
    empty = {"", "''", "('')"}
    if inspected_default in empty and rendered_metadata_default in empty:
        return False
    if isinstance(metadata_column.type, JSON) and inspected_default and rendered_metadata_default:
        return bool(json.loads(literal(inspected_default)) != json.loads(literal(rendered_metadata_default)))
    return None


def literal(default: str) -> str:
    """The text of a reflected or rendered SQL string literal: '{}'::json, ('{}'), '{}' and {} give {}."""
    text = re.sub(r"::jsonb?$", "", default.strip()).removeprefix("(").removesuffix(")")
    if len(text) >= 2 and text[0] == text[-1] == "'":
        text = text[1:-1].replace("''", "'")
    return text


def differences() -> list[Any]:
    """What autogenerate would put in a new revision (as `flask db check` does), with types and defaults."""
    options = {**current_app.extensions["migrate"].configure_args, "compare_type": True,
               "compare_server_default": compare_defaults}  # fmt: skip
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts=options)
        return list(compare_metadata(context, db.metadata))


def revision_of_database() -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def tables() -> set[str]:
    return set(inspect(db.engine).get_table_names())


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_upgrade_builds_the_models_schema_and_downgrade_removes_it(
    kind: str, empty_app: Callable[[str], Flask]
) -> None:
    app = empty_app(kind)
    with app.app_context():
        migrations = current_app.extensions["migrate"].directory
        head = ScriptDirectory(migrations).get_current_head()
        assert tables() == set()

        upgrade()
        assert revision_of_database() == head
        assert tables() == set(db.metadata.tables) | {"alembic_version"}
        assert differences() == []

        downgrade(revision="base")
        assert revision_of_database() is None
        assert tables() <= {"alembic_version"}

        upgrade()  # and back up again, as a rollback and redeploy would
        assert revision_of_database() == head
        assert differences() == []
