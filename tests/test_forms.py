"""learning.forms.Form: text fields read text, file fields read files, and a body that is no form's is an
empty form (each of these answered 500 before; found by tests/fuzz)."""

from __future__ import annotations

import io

from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage

from learning.reminders.links import unsubscribe_token
from tests.capstone.conftest import post_multipart
from tests.conftest import csrf_from


def test_a_file_where_text_is_expected_is_a_missing_value(client: FlaskClient, create_user, login) -> None:
    user = create_user()
    login(client, user)
    token = csrf_from(client.get("/account/password").get_data(as_text=True))
    data = {"csrf_token": token, "current_password": FileStorage(io.BytesIO(b"x"), "p.txt"), "confirm": "0"}
    response = post_multipart(
        client, "/account/password", {**data, "password": FileStorage(io.BytesIO(b"y"), "")}
    )
    assert response.status_code == 200
    assert "This field is required" in response.get_data(as_text=True)


def test_text_where_a_file_is_expected_is_no_file(client: FlaskClient, create_user, login) -> None:
    login(client, create_user(roles=("trainer",)))
    token = csrf_from(client.get("/authoring/import").get_data(as_text=True))
    response = client.post("/authoring/import", data={"csrf_token": token, "bundle": "not a file"})
    assert response.status_code == 200
    assert "This field is required" in response.get_data(as_text=True)


def test_a_json_body_is_no_form(client: FlaskClient, create_user) -> None:
    user = create_user()
    page = f"/reminders/unsubscribe/{unsubscribe_token(user.id)}"
    for body in ([1, 2], "text", {"submit": ["x"]}):
        response = client.post(page, json=body)
        assert response.status_code < 500
