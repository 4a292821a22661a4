"""A database that cannot be reached at all (stopped, restarting, refusing connections) is a clean 503
with Retry-After, like a connection lost mid-request (tests/test_database_requests.py); the restart test
(tests/test_restarts.py) meets it for real."""

from __future__ import annotations

from typing import Any

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
