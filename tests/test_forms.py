"""learning.forms.Form: text fields read text, file fields read files, and a body that is no form's is an
empty form (each of these answered 500 before; found by tests/fuzz)."""

from __future__ import annotations

import io

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage
from wtforms.widgets import Select

from learning.auth.forms import ProfileForm
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


def test_long_selects_render_as_wtforms_own_widget_does(app: Flask) -> None:
    """LongSelect (countries, time zones, languages) gives the same markup as WTForms' Select, the chosen
    option marked, a value with markup in it escaped, in a second language too."""
    with app.test_request_context():
        chosen = ProfileForm(meta={"csrf": False}, data={"country": "TH", "timezone": "Asia/Bangkok"})
        blank = ProfileForm(meta={"csrf": False})
        for form in (chosen, blank, chosen):  # the third is served from the cache
            for name in ("country", "timezone", "language"):
                assert str(form[name]()) == str(Select()(form[name]))
        assert '<option selected value="TH">Thailand</option>' in str(chosen.country())
        hostile = ProfileForm(meta={"csrf": False}, data={"timezone": '"><b>'})
        hostile.timezone.choices = [("UTC", "UTC"), ('"><b>', "<b>zone</b>")]
        markup = str(hostile.timezone())
        assert markup == str(Select()(hostile.timezone))
        assert "<b>" not in markup and '<option selected value="&#34;&gt;&lt;b&gt;">' in markup
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        french = ProfileForm(meta={"csrf": False})
        assert str(french.country()) == str(Select()(french.country))
