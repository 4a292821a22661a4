"""Only staff see the reports link. (Who may call each reports route is checked for every route by
tests/security/test_permissions.py, from the application's permissions table.)"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from learning.auth.models import User

PRINCIPALS = ("anonymous", "learner", "trainer", "secretariat", "admin")


@pytest.fixture
def principals(
    app: Flask, create_user: Callable[..., User], login: Callable[..., None],
    api_token: Callable[[User], dict[str, str]],
) -> dict[str, tuple[FlaskClient, dict[str, str], User | None]]:  # fmt: skip
    result: dict[str, tuple[FlaskClient, dict[str, str], User | None]] = {}
    for name in PRINCIPALS:
        client = app.test_client()
        client.environ_base["wsgi.url_scheme"] = "https"
        user = None
        headers: dict[str, str] = {}
        if name != "anonymous":
            user = create_user(roles=() if name == "learner" else (name,))
            login(client, user)
            headers = api_token(user)
        result[name] = (client, headers, user)
    return result


def test_only_staff_see_the_reports_link(
    principals: dict[str, tuple[FlaskClient, dict[str, str], User | None]],
) -> None:
    for name, (client, _, _) in principals.items():
        page = client.get("/").get_data(as_text=True)
        assert ('href="/reports/"' in page) == (name in ("secretariat", "admin")), name
