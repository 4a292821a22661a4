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


def test_every_403_of_every_route_is_logged_once(
    app, client: FlaskClient, create_user, login, api_token, caplog: pytest.LogCaptureFixture
) -> None:
    """A learner calls every route with every method (forms with a valid CSRF token, the API with a bearer
    token): each 403 answer, however the view refused, gives exactly one 'forbidden' line for its route."""
    from tests.conftest import csrf_from
    from tests.test_every_route import every_request

    learner = create_user()
    login(client, learner)
    form = {"csrf_token": csrf_from(client.get("/account").get_data(as_text=True))}
    caplog.set_level("INFO", logger="learning.security")
    refused = []
    for method, path in every_request(app):
        api = path.startswith("/api/")
        caplog.clear()
        response = client.open(
            path,
            method=method,
            headers=api_token(learner) if api else {},
            data=None if api or method in ("GET", "HEAD", "OPTIONS") else form,
        )
        forbidden = [e for e in lines(caplog) if e["event"] == "forbidden"]
        if response.status_code == 403:
            refused.append(path)
            assert len(forbidden) == 1, (method, path)
            assert forbidden[0]["route"] == f"{method} {path}" and forbidden[0]["user_id"] == learner.id
            assert forbidden[0]["address"] == "127.0.0.1" and forbidden[0]["at"].endswith("+00:00")
        else:
            assert forbidden == [], (method, path, response.status_code)
    assert len(refused) >= 20  # authoring, reports, secretariat pages and their API


def test_a_view_that_answers_403_itself_is_logged(tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    from learning import create_app
    from tests.conftest import app_config

    other = create_app(app_config(f"sqlite:///{tmp_path / 'x.db'}"))

    @other.get("/own-refusal")
    def own_refusal() -> tuple[str, int]:
        return "no", 403

    caplog.set_level("INFO", logger="learning.security")
    assert other.test_client().get("/own-refusal").status_code == 403
    assert [(e["event"], e["route"]) for e in lines(caplog)] == [("forbidden", "GET /own-refusal")]


@pytest.mark.parametrize(
    "name", ['x@example.org\r\n{"event": "login", "outcome": "success"}', "a\nb\rc@x.org"]
)
def test_cr_or_lf_in_a_sign_in_name_cannot_split_a_line(
    client: FlaskClient, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="learning.security")
    post_form(client, "/login", {"email": name, "password": "wrong password!"})
    # refused as a malformed field before any sign-in is tried (422): no line, no split
    api = client.post("/api/v1/auth/tokens", json={"email": name, "password": "wrong password!"})
    assert api.status_code == 422
    client.post("/password/forgot", data={"email": name})  # refused by the form: no line, no split
    records = [r.getMessage() for r in caplog.records if r.name == "learning.security"]
    assert len(records) == 1
    for record in records:
        assert "\n" not in record and "\r" not in record
        event = json.loads(record)
        assert event["event"] == "login" and event["outcome"] == "failure"
        assert event["email"] == "[not an address]"


def test_what_is_not_an_address_is_not_logged_as_one(client: FlaskClient, caplog) -> None:
    """A password typed into the address field stays out of the log; an address is logged as typed."""
    caplog.set_level("INFO", logger="learning.security")
    for typed in (
        "correct-horse-battery-staple",
        "p@ss word",
        "83466947",
        "%2e%2e%2f",
        "a@b@c.org",
        "me@host",
    ):
        post_form(client, "/login", {"email": typed, "password": "wrong password!"})
    post_form(client, "/login", {"email": "Somchai.K@Marine.go.th", "password": "wrong password!"})
    assert [e["email"] for e in lines(caplog)] == ["[not an address]"] * 6 + ["somchai.k@marine.go.th"]


def test_secret_url_arguments_are_not_logged(
    client: FlaskClient, create_user, mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    import re

    user = create_user()
    post_form(client, "/password/forgot", {"email": user.email})
    link = re.search(r"(/password/reset/(\S+))", mailbox.messages[0].get_body(("plain",)).get_content())
    caplog.set_level("INFO")
    client.post(link.group(1), data={"password": "x", "confirm": "x"})  # no CSRF token: refused, logged
    new = "a brand new passphrase"
    post_form(client, link.group(1), {"password": new, "confirm": new})
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert link.group(2) not in text
    assert "POST /password/reset/[redacted]" in text
    assert lines(caplog)[-1]["route"] == "POST /password/reset/[redacted]"
