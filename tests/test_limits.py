"""Bodies too large for the site: 413 with a friendly page (or the API's JSON error), never a 500, and
before the view reads them (MAX_CONTENT_LENGTH, MAX_FORM_MEMORY_SIZE and Werkzeug's cap on form parts)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict
from werkzeug.test import encode_multipart

from tests.conftest import csrf_from

MB = 1024 * 1024
URLENCODED = "application/x-www-form-urlencoded"


def multipart(pairs: list[tuple[str, object]]) -> tuple[bytes, str]:
    boundary, body = encode_multipart(MultiDict(pairs))
    return body, f"multipart/form-data; boundary={boundary}"


def test_the_limits_are_set(app: Flask) -> None:
    assert app.config["MAX_CONTENT_LENGTH"] == 16 * MB
    assert app.config["MAX_FORM_MEMORY_SIZE"] == 2 * MB


@pytest.mark.parametrize(
    "case",
    [
        "a body past MAX_CONTENT_LENGTH",
        "a text field past MAX_FORM_MEMORY_SIZE",
        "an urlencoded body",
        "parts",
    ],
)
def test_too_large_a_form_gets_413_and_a_page(client: FlaskClient, case: str) -> None:
    token = csrf_from(client.get("/login").get_data(as_text=True))
    if case == "a body past MAX_CONTENT_LENGTH":
        body, kind = multipart([("csrf_token", token), ("email", "x" * (17 * MB))])
    elif case == "a text field past MAX_FORM_MEMORY_SIZE":
        body, kind = multipart([("csrf_token", token), ("email", "x" * (3 * MB))])
    elif case == "an urlencoded body":
        body, kind = (
            b"csrf_token=" + token.encode() + b"&email=" + b"x" * (3 * MB),
            "application/x-www-form-urlencoded",
        )
    else:  # more parts than Werkzeug's max_form_parts (1,000)
        body, kind = multipart([("csrf_token", token)] + [(f"f{n}", "x") for n in range(1500)])
    response = client.post("/login", data=body, content_type=kind)
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    assert "larger than this site accepts" in response.get_data(as_text=True)


def test_too_large_a_json_body_gets_413_as_json(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/auth/tokens", data=b'{"email": "' + b"x" * (17 * MB) + b'"}', content_type="application/json"
    )
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"


def test_an_urlencoded_form_within_the_limits_is_read(client: FlaskClient) -> None:
    token = csrf_from(client.get("/login").get_data(as_text=True))
    body = f"csrf_token={token}&email=a%40example.org&password=x" + "&f=1" * 900
    response = client.post("/login", data=body.encode(), content_type=URLENCODED)
    assert response.status_code == 401  # the form is read: a wrong password, the page again
    assert "a@example.org" in response.get_data(as_text=True)


def test_a_part_without_a_name_is_left_out(client: FlaskClient) -> None:
    # Werkzeug keys such a part None, and Flask-WTF's CSRF check answered 500 on it (found by tests/fuzz)
    token = csrf_from(client.get("/login").get_data(as_text=True))
    boundary = "b0undary"

    def body(*named: tuple[str, str]) -> bytes:
        parts = [
            "Content-Disposition: form-data\r\n\r\nno name",
            'Content-Disposition: form-data; filename="a.txt"\r\n\r\nno name either',
            *(f'Content-Disposition: form-data; name="{name}"\r\n\r\n{value}' for name, value in named),
        ]
        return (
            "".join(f"--{boundary}\r\n{part}\r\n" for part in parts).encode() + f"--{boundary}--\r\n".encode()
        )

    kind = f"multipart/form-data; boundary={boundary}"
    response = client.post("/login", data=body(("email", "nobody@example.org")), content_type=kind)
    assert response.status_code == 400 and "Form expired" in response.get_data(as_text=True)  # no token
    sent = body(("csrf_token", token), ("email", "nobody@example.org"), ("password", "not the password"))
    response = client.post("/login", data=sent, content_type=kind)
    assert response.status_code == 401  # past the CSRF check: the credentials were checked and refused
