"""learning.urls: an id past the database's integer range or a string argument with a control character
does not match its rule (404) instead of reaching the database, which refused both with a 500 on PostgreSQL
(found by tests/fuzz)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from learning.urls import MAX_ID, whole_number


def test_string_arguments_hold_no_control_character(
    app: Flask, client: FlaskClient, create_user, login
) -> None:
    login(client, create_user(roles=("trainer", "secretariat")))
    for path in ("/courses/{}", "/authoring/courses/{}", "/verify/{}"):
        for bad in ("%00", "harbour%00basics", "a%0Ab", "%1F", "%7F"):
            response = client.get(path.format(bad))
            assert response.status_code == 404, (path, bad)
    assert client.get("/courses/harbour-basics").status_code == 200
    assert client.get("/courses/h%C3%A4fen").status_code == 404  # other Unicode matches, and is not found
    rule = app.url_map.converters["string"]
    assert rule is app.url_map.converters["default"]


def test_ids_past_the_integer_range_do_not_match(client: FlaskClient, create_user, login) -> None:
    login(client, create_user(roles=("trainer",)))
    assert client.get(f"/authoring/capstone/{2**31}").status_code == 404


@pytest.mark.parametrize(
    ("text", "maximum", "number"),
    [("0", MAX_ID, 0), ("42", MAX_ID, 42), (str(MAX_ID), MAX_ID, MAX_ID), (str(MAX_ID + 1), MAX_ID, None),
     ("", MAX_ID, None), ("²", MAX_ID, None), ("١٢", MAX_ID, None), ("-1", MAX_ID, None),
     ("+1", MAX_ID, None),
     (" 1", MAX_ID, None), ("1e3", MAX_ID, None), ("9" * 5000, MAX_ID, None), ("1000001", 1_000_000, None),
     ("0001", 1_000_000, 1)],
)  # fmt: skip
def test_whole_numbers_are_ascii_digits_within_range(text: str, maximum: int, number: int | None) -> None:
    assert whole_number(text, maximum) == number
