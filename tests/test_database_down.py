"""A database that cannot be reached at all (stopped, restarting, refusing connections) is a clean 503
with Retry-After, like a connection lost mid-request (tests/test_database_requests.py); the restart test
(tests/test_restarts.py) meets it for real."""

from __future__ import annotations

from typing import Any

import psycopg
import psycopg.errors
import pytest
from flask.testing import FlaskClient
from sqlalchemy.exc import OperationalError

PAGE = "/courses/harbour-basics/lessons/first-a"
API = "/api/v1/courses/harbour-basics/lessons/first-a"


def cannot_connect(*_args: Any) -> None:
    # how SQLAlchemy raises psycopg's refusal at connect time: no statement, not marked as a lost connection
    raise OperationalError(
        None, None, Exception('connection to server at "127.0.0.1", port 5432 failed: Connection refused')
    )


def test_a_database_that_refuses_connections_is_a_503(
    client: FlaskClient, create_user, login, api_token, enrol, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    user = create_user()
    enrol(user)
    login(client, user)
    headers = api_token(user)
    monkeypatch.setattr("learning.progress.views.lesson_access", cannot_connect)
    monkeypatch.setattr("learning.api.courses.lesson_access", cannot_connect)
    page = client.get(PAGE)
    assert page.status_code == 503 and page.headers["Retry-After"] == "5"
    answer = client.get(API, headers=headers)
    assert answer.status_code == 503 and answer.get_json()["error"]["code"] == "unavailable"
    assert "Connection refused" in caplog.text and "Traceback" not in caplog.text


@pytest.mark.parametrize(
    ("orig", "status"),
    [
        (psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly"), 503),
        (psycopg.errors.AdminShutdown("terminating connection due to immediate shutdown command"), 503),
        (psycopg.errors.CannotConnectNow("the database system is starting up"), 503),
        (psycopg.errors.ConnectionFailure("connection failure"), 503),
        (psycopg.errors.QueryCanceled("canceling statement due to statement timeout"), 500),
        (psycopg.errors.DivisionByZero("division by zero"), 500),
    ],
)
def test_which_errors_in_a_statement_mean_the_database_is_unavailable(
    client: FlaskClient,
    create_user,
    api_token,
    enrol,
    monkeypatch: pytest.MonkeyPatch,
    orig: Exception,
    status: int,
) -> None:
    user = create_user()
    enrol(user)

    def fail(*_args: Any) -> None:
        raise OperationalError("UPDATE enrolments SET percent=%(percent)s", {}, orig)

    monkeypatch.setattr("learning.api.courses.lesson_access", fail)
    assert client.get(API, headers=api_token(user)).status_code == status


@pytest.mark.no_rollback
def test_no_free_pooled_connection_is_a_503_and_the_next_request_is_served(tmp_path, caplog) -> None:
    """More requests at once than the process has connections: a request that waited the pool's timeout
    in vain is told to come back (503 with Retry-After), not a 500 (found by the concurrency test of
    tests/progress on a loaded machine)."""
    from learning.auth import services as auth
    from learning.extensions import db
    from tests.fixtures.databases import committed_app

    options = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 0.2}
    with committed_app(tmp_path, SQLALCHEMY_ENGINE_OPTIONS=options) as app:
        client = app.test_client()
        with app.app_context():
            profile = auth.Profile("Official", "TH", None, "other", None, "en", "UTC", False)
            user = auth.create_user("busy@example.org", "a long passphrase", profile, set())
            token, _ = auth.create_api_token(user)
            db.session.commit()
            db.session.remove()
            headers = {"Authorization": f"Bearer {token}"}
            held = db.engine.connect()  # the pool's only connection, as a long request would hold it
            try:
                page = client.get("/")
                answer = client.get("/api/v1/courses", headers=headers)
            finally:
                held.close()
            assert page.status_code == 503 and page.headers["Retry-After"] == "5"
            assert "every connection to its database is in use" in page.get_data(as_text=True)
            assert answer.status_code == 503 and answer.get_json()["error"]["code"] == "unavailable"
            assert "no database connection free on GET /" in caplog.text
            assert "Traceback" not in caplog.text
            assert client.get("/").status_code == 200
            assert client.get("/api/v1/courses", headers=headers).status_code == 200
