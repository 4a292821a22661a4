"""Every rule of app.url_map, every method, anonymous and signed in: the security headers, the cookie flags
and friendly errors on every response, redirects and errors included (issue 7, rows 4 and 14)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from learning import create_app
from learning.auth.models import User
from learning.security import permissions
from tests.conftest import TEST_SECRET, app_config, csrf_from

ONE_YEAR = 365 * 24 * 3600
REFERRER_POLICIES = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}
# What a page must never show: a traceback, Werkzeug's debugger, a Python exception's repr.
LEAKS = re.compile(r"Traceback \(most recent call last\)|__debugger__|werkzeug\.debug|File \"/|Error\(['\"]")
# Simple values for the URL arguments, by name; real ones where the fixture course has them, so that
# signed-in requests reach the pages and not only their 404s.
ARGUMENTS = {
    "slug": "harbour-basics",
    "lesson_slug": "first-a",
    "lesson": "first-a",
    "module": "first-steps",
    "filename": "academy.css",
}
ARGUMENT = re.compile(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>")


def path_of(rule: Rule) -> str:
    def value(match: re.Match[str]) -> str:
        converter, options, name = match.groups()
        if converter == "int":
            return "1"
        if converter == "any":
            return options.split(",")[0].strip().strip("'\"")
        return ARGUMENTS.get(name, "x")

    return ARGUMENT.sub(value, rule.rule)


def every_request(app: Flask) -> Iterator[tuple[str, str]]:
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        for method in sorted(rule.methods or ()):
            yield method, path_of(rule)


def problems(response: TestResponse, where: str) -> list[str]:
    """Everything wrong with one response's headers, cookies and body."""
    found = []
    headers = response.headers
    hsts = re.search(r"max-age=(\d+)", headers.get("Strict-Transport-Security", ""))
    if not hsts or int(hsts.group(1)) < ONE_YEAR:
        found.append(f"{where}: HSTS missing or under a year: {headers.get('Strict-Transport-Security')!r}")
    csp = headers.get("Content-Security-Policy", "")
    if "frame-ancestors" not in csp or "default-src" not in csp:
        found.append(f"{where}: CSP without frame-ancestors or default-src: {csp!r}")
    if headers.get("X-Content-Type-Options") != "nosniff":
        found.append(f"{where}: no X-Content-Type-Options: nosniff")
    if headers.get("Referrer-Policy") not in REFERRER_POLICIES:
        found.append(f"{where}: Referrer-Policy {headers.get('Referrer-Policy')!r}")
    for cookie in headers.getlist("Set-Cookie"):
        found.extend(f"{where}: {problem}" for problem in cookie_problems(cookie))
    if response.status_code >= 500:
        found.append(f"{where}: answered {response.status_code}")
    if response.mimetype in ("text/html", "application/json", "text/plain"):
        leak = LEAKS.search(response.get_data(as_text=True))
        if leak:
            found.append(f"{where}: the body shows {leak.group(0)!r}")
    return found


def cookie_problems(header: str) -> list[str]:
    """Why a Set-Cookie header lacks Secure, HttpOnly, SameSite or lives longer than 12 hours."""
    name = header.split("=", 1)[0]
    attributes = {part.strip().split("=", 1)[0].lower(): part.strip() for part in header.split(";")[1:]}
    found = [f"cookie {name} is not {flag}" for flag in ("secure", "httponly") if flag not in attributes]
    if attributes.get("samesite", "").lower() not in ("samesite=lax", "samesite=strict"):
        found.append(f"cookie {name} has no SameSite=Lax or Strict")
    expires = attributes.get("expires")
    if expires:
        when = parsedate_to_datetime(expires.split("=", 1)[1])
        if when - datetime.now(UTC) > timedelta(hours=12, minutes=1):
            found.append(f"cookie {name} lives past 12 hours: {expires}")
    max_age = attributes.get("max-age")
    if max_age and int(max_age.split("=", 1)[1]) > 12 * 3600:
        found.append(f"cookie {name} lives past 12 hours: {max_age}")
    return found


def walk(
    client: FlaskClient, app: Flask, headers: Callable[[], dict[str, str]], form: dict[str, str]
) -> dict:
    """Call every route with every method; return the problems found and the statuses seen."""
    found: list[str] = []
    statuses: dict[int, int] = {}
    for method, path in every_request(app):
        api = path.startswith("/api/")
        response = client.open(
            path,
            method=method,
            headers=headers() if api else {},
            data=None if api or method in ("GET", "HEAD", "OPTIONS") else form,
        )
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        found.extend(problems(response, f"{method} {path} -> {response.status_code}"))
    return {"problems": found, "statuses": statuses, "requests": sum(statuses.values())}


def test_every_route_and_method_anonymous_has_the_headers_and_no_traceback(
    app: Flask, client: FlaskClient
) -> None:
    result = walk(client, app, dict, {})
    assert result["problems"] == []
    assert result["requests"] >= 2 * len(list(app.url_map.iter_rules()))  # every rule at least HEAD+OPTIONS
    assert {200, 302, 401} <= set(result["statuses"])


def test_every_route_and_method_signed_in_has_the_headers_and_no_traceback(
    app: Flask, client: FlaskClient, create_user: Callable[..., User], login, api_token
) -> None:
    """As an administrator who is also trainer and secretariat (most pages answer), the forms posted with
    a valid CSRF token and the API called with a bearer token (a new one each time: one route revokes it)."""
    admin = create_user(roles=("admin", "trainer", "secretariat"))
    login(client, admin)
    token = csrf_from(client.get("/account").get_data(as_text=True))
    result = walk(client, app, lambda: api_token(admin), {"csrf_token": token})
    assert result["problems"] == []
    assert result["statuses"].get(200, 0) >= 40  # the walk reached the pages, not only refusals


def test_cookies_set_at_sign_in_and_sign_out_carry_the_flags(
    client: FlaskClient, create_user: Callable[..., User]
) -> None:
    from tests.conftest import post_form
    from tests.fixtures.factories import PASSWORD

    user = create_user()
    cookies = []
    response = client.get("/login")
    cookies += response.headers.getlist("Set-Cookie")
    response = post_form(client, "/login", {"email": user.email, "password": PASSWORD})
    cookies += response.headers.getlist("Set-Cookie")
    response = post_form(client, "/dashboard", {}, "/logout")
    cookies += response.headers.getlist("Set-Cookie")
    assert len(cookies) >= 2 and [p for c in cookies for p in cookie_problems(c)] == []


def test_the_cookie_check_catches_a_bad_cookie() -> None:
    """The checks above can fail."""
    assert len(cookie_problems("theme=dark; Path=/")) == 3
    in_a_day = (datetime.now(UTC) + timedelta(days=1)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert cookie_problems(f"s=1; Secure; HttpOnly; SameSite=Lax; Expires={in_a_day}") == [
        f"cookie s lives past 12 hours: Expires={in_a_day}"
    ]
    assert cookie_problems("s=1; Secure; HttpOnly; SameSite=None") == [
        "cookie s has no SameSite=Lax or Strict"
    ]


def production_app(tmp_path: Any) -> Flask:
    return create_app(
        app_config(f"sqlite:///{tmp_path / 'p.db'}", ACADEMY_ENV="production", SECRET_KEY=TEST_SECRET)
    )


def test_production_configuration(tmp_path: Any) -> None:
    app = production_app(tmp_path)
    assert app.debug is False and app.config["DEBUG"] is False and app.testing is False
    assert app.config["PROPAGATE_EXCEPTIONS"] in (None, False)
    assert 0 < app.config["MAX_CONTENT_LENGTH"] <= 16 * 1024 * 1024
    assert app.config["MAX_FORM_MEMORY_SIZE"] is not None
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_HTTPONLY"]
    assert app.config["SESSION_COOKIE_SAMESITE"] in ("Lax", "Strict")
    assert app.config["PERMANENT_SESSION_LIFETIME"] <= timedelta(hours=12)
    assert app.config["REMEMBER_COOKIE_DURATION"] <= timedelta(hours=12)
    assert app.config["HSTS_SECONDS"] >= ONE_YEAR


def test_too_large_a_body_is_a_413_with_the_headers(app: Flask, client: FlaskClient) -> None:
    limit = app.config["MAX_CONTENT_LENGTH"]
    for path, media in (
        ("/login", "application/x-www-form-urlencoded"),
        ("/api/v1/auth/tokens", "application/json"),
    ):
        response = client.post(path, data=b"x" * (limit + 1), content_type=media)
        assert response.status_code == 413
        assert problems(response, path) == []


@pytest.mark.parametrize("path", ["/no-such-page", "/api/v1/no-such"])
def test_a_404_shows_no_traceback(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404 and problems(response, path) == []


def test_the_body_check_catches_a_traceback(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The walk would notice a debugger page or a traceback: shown here with a view that prints one."""
    app = production_app(tmp_path)
    # a route of this test only; the permissions table refuses any endpoint it does not list
    monkeypatch.setitem(permissions.TABLE, "shows", permissions.public())

    @app.get("/shows-a-traceback")
    def shows() -> str:
        import traceback

        try:
            raise ValueError("boom")
        except ValueError:
            return "<pre>" + traceback.format_exc() + "</pre>"

    response = app.test_client().get("/shows-a-traceback", base_url="https://localhost")
    assert any("Traceback" in p for p in problems(response, "GET /shows-a-traceback"))


def test_files_served_with_their_own_policy_still_have_the_headers(app: Flask, client: FlaskClient) -> None:
    """A view that sets a stricter policy of its own (a sandbox for served files) keeps the rest: the walk
    above reaches only the 404 of such routes, since it knows no file's name."""
    import hashlib

    from learning.storage import storage

    data = b"\x89PNG\r\n\x1a\n not really a picture"
    name = f"{hashlib.sha256(data).hexdigest()}.png"
    storage().save(f"images/{name}", data)
    try:
        response = client.get(f"/media/{name}")
    finally:
        storage().delete(f"images/{name}")
    assert response.status_code == 200 and "sandbox" in response.headers["Content-Security-Policy"]
    assert problems(response, f"GET /media/{name}") == []
