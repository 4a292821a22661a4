"""The security log: one JSON line per sign-in outcome and per refusal, with nothing secret in it."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient

from tests.conftest import post_form
from tests.fixtures.factories import PASSWORD


def lines(caplog: pytest.LogCaptureFixture) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "learning.security"]


def test_sign_ins_and_refusals_are_logged_without_secrets(
    client: FlaskClient, create_user, login, api_token, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="learning.security")
    user = create_user(full_name="Evil\r\nName: injected")
    post_form(client, "/login", {"email": user.email, "password": "wrong password!"})
    login(client, user)
    client.get("/authoring/")  # a learner: 403
    headers = api_token(user)
    client.get("/api/v1/authoring/courses/harbour-basics/bundle", headers=headers)  # 403 through the API
    events = lines(caplog)
    assert [(e["event"], e["outcome"]) for e in events] == [
        ("login", "failure"), ("login", "success"), ("forbidden", "denied"), ("forbidden", "denied"),
    ]  # fmt: skip
    for event in events:
        assert set(event) >= {"at", "event", "outcome", "user_id", "address", "route"}
        assert event["at"].endswith("+00:00") and event["address"] == "127.0.0.1"
    assert events[2]["route"] == "GET /authoring/" and events[2]["user_id"] == user.id
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert PASSWORD not in text and "wrong password!" not in text
    assert headers["Authorization"].split()[1] not in text
    assert client.get_cookie("academy_session").value not in text
    assert all("\n" not in r.getMessage() and "\r" not in r.getMessage() for r in caplog.records)
