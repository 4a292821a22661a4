"""learning.db.RawSelect: a SELECT compiled by SQLAlchemy and run on the DBAPI cursor reads the same values as
the ORM (UTC timestamps included), on the tests' connection and on a pooled one, is seen by statement
listeners with a Connection, and refuses what it cannot compile once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import bindparam, event, select
from sqlalchemy.engine import Connection

from learning.auth import services as auth
from learning.auth.models import User
from learning.db import RawSelect
from learning.extensions import db
from tests.fixtures.databases import committed_app
from tests.fixtures.factories import PASSWORD

STATEMENT = RawSelect(
    lambda: select(User.id, User.email, User.created_at).where(User.email == bindparam("email"))
)


def test_it_reads_what_the_orm_reads(app: Flask, create_user: Callable[..., User]) -> None:
    user = create_user()
    db.session.flush()
    row = STATEMENT.one_or_none(email=user.email)
    assert row == (user.id, user.email, user.created_at)
    assert isinstance(row[2], datetime) and row[2].tzinfo is UTC  # on SQLite too, where it is a string
    assert STATEMENT.one_or_none(email="nobody@example.org") is None


def test_values_the_statement_holds_go_with_those_given(app: Flask, create_user: Callable[..., User]) -> None:
    user = create_user()
    db.session.flush()
    held = RawSelect(
        lambda: select(User.id).where(
            User.email == bindparam("email"), User.full_name != "Nobody", User.id > 0
        )
    )
    assert held.one_or_none(email=user.email) == (user.id,)
    user.full_name = "Nobody"
    db.session.flush()
    assert held.one_or_none(email=user.email) is None


def test_expanding_parameters_are_refused(app: Flask) -> None:
    many = RawSelect(lambda: select(User.id).where(User.email.in_(bindparam("emails", expanding=True))))
    with pytest.raises(ValueError, match="expanding"):
        many.one_or_none(emails=["a@example.org"])


@pytest.fixture
def shared_app(tmp_path: Path) -> Iterator[Flask]:
    with committed_app(tmp_path) as app:
        yield app


@pytest.mark.no_rollback
def test_on_a_pooled_connection_listeners_see_the_statement_with_a_connection(shared_app: Flask) -> None:
    seen: list[tuple[str, bool]] = []

    def before(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(("before", isinstance(conn, Connection) and "FROM users" in statement))

    def after(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(("after", isinstance(conn, Connection) and "FROM users" in statement))

    with shared_app.app_context():
        profile = auth.Profile("Learner", "TH", None, "other", None, "en", "UTC", False)
        user = auth.create_user("raw@example.org", PASSWORD, profile, set())
        db.session.commit()
        expected = (user.id, user.email, user.created_at)
        db.session.remove()
        assert STATEMENT.one_or_none(email="raw@example.org") == expected  # nothing listens
        event.listen(db.engine, "before_cursor_execute", before)
        event.listen(db.engine, "after_cursor_execute", after)
        try:
            assert STATEMENT.one_or_none(email="raw@example.org") == expected
        finally:
            event.remove(db.engine, "before_cursor_execute", before)
            event.remove(db.engine, "after_cursor_execute", after)
    assert seen == [("before", True), ("after", True)]


def closed(connection: Any) -> bool:
    if hasattr(connection, "closed"):  # psycopg
        return bool(connection.closed)
    try:
        connection.execute("SELECT 1")  # sqlite3 has no flag; a closed connection refuses
    except Exception:  # noqa: BLE001
        return True
    return False


@pytest.mark.no_rollback
def test_each_thread_keeps_one_connection_outside_the_pool(
    shared_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from learning import db as database

    with shared_app.app_context():
        engine = db.engine
        checked_out = engine.pool.checkedout()  # type: ignore[attr-defined]
        first = database._held_connection(engine)
        assert database._held_connection(engine) is first  # kept between statements
        assert engine.pool.checkedout() == checked_out  # type: ignore[attr-defined]  # not the pool's
        assert STATEMENT.one_or_none(email="nobody@example.org") is None
        assert database._held_connection(engine) is first and not closed(first)

        others: list[Any] = []

        def elsewhere() -> None:
            with shared_app.app_context():
                others.append(database._held_connection(engine))

        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join()
        assert others[0] is not first
        assert closed(others[0])  # closed with its thread

        monkeypatch.setattr(database, "POOL_RECYCLE_SECONDS", 0)  # replaced at the pool's recycling age
        second = database._held_connection(engine)
        assert second is not first and closed(first)
        monkeypatch.undo()
        assert STATEMENT.one_or_none(email="nobody@example.org") is None
        assert database._held_connection(engine) is second


@pytest.mark.no_rollback
def test_a_pooled_connection_goes_back_in_its_normal_mode_whatever_happens(shared_app: Flask) -> None:
    def broken(*_args: Any) -> None:
        raise RuntimeError("a listener that fails")

    with shared_app.app_context():
        engine = db.engine
        event.listen(engine, "after_cursor_execute", broken)
        try:
            with pytest.raises(RuntimeError):
                STATEMENT.one_or_none(email="nobody@example.org")
        finally:
            event.remove(engine, "after_cursor_execute", broken)
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                assert connection.connection.driver_connection.autocommit is False  # type: ignore[union-attr]
            connection.execute(select(User.id).limit(1))
            assert connection.in_transaction()
