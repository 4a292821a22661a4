"""How requests use the database: the read-only pages without a transaction on PostgreSQL, write requests
with one, no session cookie re-signed on every response, and a lost connection answered with a clean 503
after which the pool recovers by itself."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from learning.auth import services as auth
from learning.catalog.models import Course
from learning.extensions import db
from learning.progress import services as progress
from tests.conftest import post_form
from tests.fixtures.databases import committed_app

PASSWORD = "a long passphrase for the port"
PAGE = "/courses/harbour-basics/lessons/first-a"
API = "/api/v1/courses/harbour-basics/lessons/first-a"


# --- the session cookie -------------------------------------------------------------------------------------


def test_signed_in_pages_do_not_set_the_cookie_again(client: FlaskClient, create_user, login, enrol) -> None:
    user = create_user()
    enrol(user)
    login(client, user)
    client.get("/dashboard")  # the first page after sign-in puts a CSRF token in the session
    for path in ("/dashboard", PAGE, "/courses/harbour-basics"):
        response = client.get(path)
        assert response.status_code == 200 and "Set-Cookie" not in response.headers, path


# --- the 503 answer, on any database ------------------------------------------------------------------------


def lost_connection(*_args: Any) -> None:
    raise OperationalError(
        "SELECT 1", {}, Exception("server closed the connection unexpectedly"), connection_invalidated=True
    )


def other_database_error(*_args: Any) -> None:
    raise OperationalError("SELECT 1", {}, Exception("division by zero"))


def test_a_lost_connection_is_a_503_page_or_json_error(
    client: FlaskClient, create_user, login, api_token, enrol, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    user = create_user()
    enrol(user)
    login(client, user)
    headers = api_token(user)
    monkeypatch.setattr("learning.progress.views.lesson_access", lost_connection)
    monkeypatch.setattr("learning.api.courses.lesson_access", lost_connection)

    page = client.get(PAGE)
    assert page.status_code == 503 and page.headers["Retry-After"] == "5"
    assert "Try again in a moment" in page.get_data(as_text=True)
    answer = client.get(API, headers=headers)
    assert answer.status_code == 503 and answer.get_json()["error"]["code"] == "unavailable"
    assert "database connection lost on GET /courses/harbour-basics/lessons/first-a" in caplog.text
    assert "Traceback" not in caplog.text


def test_other_database_errors_stay_internal_errors(
    client: FlaskClient, create_user, login, enrol, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = create_user()
    enrol(user)
    login(client, user)
    monkeypatch.setattr("learning.progress.views.lesson_access", other_database_error)
    assert client.get(PAGE).status_code == 500


# --- committed databases: transactions and lost connections -------------------------------------------------


@pytest.fixture
def shared_app(tmp_path: Path) -> Iterator[Flask]:
    with committed_app(tmp_path) as app:
        yield app


def signed_in_learner(app: Flask) -> tuple[FlaskClient, dict[str, str]]:
    """A learner enrolled in the fixture course, signed in through the login form, and their API headers."""
    with app.app_context():
        course = db.session.scalar(select(Course).where(Course.slug == "harbour-basics"))
        profile = auth.Profile("Learner", "TH", None, "other", None, "en", "UTC", False)
        user = auth.create_user("tx@example.org", PASSWORD, profile, set())
        progress.enrol(user, course)
        token, _ = auth.create_api_token(user)
        db.session.commit()
        db.session.remove()
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    response = post_form(client, "/login", {"email": "tx@example.org", "password": PASSWORD})
    assert response.status_code == 302
    return client, {"Authorization": f"Bearer {token}"}


def in_transaction(dbapi_connection: Any) -> bool:
    """Whether the database connection is inside a transaction (after a statement)."""
    if hasattr(dbapi_connection, "info"):  # psycopg
        from psycopg.pq import TransactionStatus

        return bool(dbapi_connection.info.transaction_status != TransactionStatus.IDLE)
    return bool(dbapi_connection.in_transaction)  # sqlite3


def transactions_of(app: Flask, request: Callable[[], Any]) -> set[bool]:
    """For each statement ``request`` sends, whether it ran inside a transaction."""
    seen: set[bool] = set()

    def record(conn: Any, *_args: Any) -> None:
        seen.add(in_transaction(conn.connection.dbapi_connection))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "after_cursor_execute", record)
    try:
        response = request()
    finally:
        event.remove(engine, "after_cursor_execute", record)
    assert response.status_code in (200, 302), response.get_data(as_text=True)[:500]
    return seen


@pytest.mark.no_rollback
def test_read_only_pages_run_without_a_transaction_on_postgresql(shared_app: Flask) -> None:
    client, headers = signed_in_learner(shared_app)
    postgresql = shared_app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    # SQLite keeps its deferred BEGIN for reads: there it is a call in the process, not a round trip.
    expected = {False} if postgresql else {True}
    for path in ("/dashboard", "/courses/harbour-basics", "/"):
        assert transactions_of(shared_app, lambda p=path: client.get(p)) == expected, path
    for path in ("/api/v1/courses/harbour-basics", "/api/v1/courses"):
        assert transactions_of(shared_app, lambda p=path: client.get(p, headers=headers)) == expected, path
    # The lesson's one statement runs on the DBAPI cursor (learning.db.RawSelect), outside a transaction
    # on both databases; once the outline and lesson caches are warm, it is the request's only one.
    client.get(PAGE)
    assert transactions_of(shared_app, lambda: client.get(PAGE)) == {False}
    assert transactions_of(shared_app, lambda: client.get(API, headers=headers)) == {False}
    # Unmarked reads and every write keep their transaction.
    assert transactions_of(shared_app, lambda: client.get("/courses/harbour-basics/continue")) == {True}
    put = transactions_of(shared_app, lambda: client.put(f"{API}/completion", headers=headers))
    assert put == {True}
    with shared_app.app_context(), db.engine.connect() as connection:
        connection.execute(text("SELECT 1"))  # the pool hands out connections in their normal mode again
        assert in_transaction(connection.connection.dbapi_connection)


def kill_connections(app: Flask) -> int:
    """Terminate every server process serving the app's database, as a restart of PostgreSQL would."""
    admin = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=NullPool)
    try:
        with admin.connect() as connection:
            return len(
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).all()
            )
    finally:
        admin.dispose()


@pytest.mark.no_rollback
@pytest.mark.postgres
def test_the_pool_recovers_after_its_connections_die(shared_app: Flask, caplog) -> None:
    client, headers = signed_in_learner(shared_app)
    assert client.get(PAGE).status_code == 200

    assert kill_connections(shared_app) >= 1
    page = client.get(PAGE)
    assert page.status_code == 503 and "Try again in a moment" in page.get_data(as_text=True)
    assert client.get(PAGE).status_code == 200
    assert client.get(API, headers=headers).status_code == 200

    assert kill_connections(shared_app) >= 1
    answer = client.get(API, headers=headers)
    assert answer.status_code == 503 and answer.get_json()["error"]["code"] == "unavailable"
    assert client.put(f"{API}/completion", headers=headers).status_code == 200
    assert "Traceback" not in caplog.text


# --- SQLite writers take turns ------------------------------------------------------------------------------


def test_sqlite_writers_of_a_process_take_turns_and_always_give_the_turn_back(tmp_path: Path) -> None:
    import threading
    import time

    from learning.db import _configure_sqlite

    engine = create_engine(f"sqlite:///{tmp_path / 'turns.db'}", connect_args={"check_same_thread": False})
    _configure_sqlite(engine, busy_timeout_ms=2_000)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE ledger (n INTEGER)")

    # a writer that holds the turn makes another thread's writer wait, then go once it commits
    order: list[str] = []
    first = engine.connect()
    first.begin()
    first.exec_driver_sql("INSERT INTO ledger VALUES (1)")

    def second_writer() -> None:
        with engine.begin() as connection:
            order.append("second")
            connection.exec_driver_sql("INSERT INTO ledger VALUES (2)")

    thread = threading.Thread(target=second_writer)
    thread.start()
    time.sleep(0.2)
    order.append("first commits")
    first.commit()
    thread.join()
    assert order == ["first commits", "second"]

    # a rollback, and a connection closed or invalidated in the middle of its transaction, give it back too
    for end in ("rollback", "close", "invalidate"):
        connection = engine.connect()
        transaction = connection.begin()
        connection.exec_driver_sql("INSERT INTO ledger VALUES (3)")
        if end == "rollback":
            transaction.rollback()
        elif end == "invalidate":
            connection.invalidate()
            transaction.rollback()
        connection.close()
        with engine.begin() as after:  # would wait 2 s and fail if the turn were still held
            after.exec_driver_sql("INSERT INTO ledger VALUES (4)")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT n FROM ledger ORDER BY rowid").scalars().all() == [
            1,
            2,
            4,
            4,
            4,
        ]
    engine.dispose()
