"""Every route of the "your data" feature against every principal, from one table."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from learning.auth.models import User
from learning.extensions import db
from tests.conftest import csrf_from

PRINCIPALS = ("anonymous", "learner", "trainer", "secretariat", "admin")
SIGNED_IN = {"anonymous": "login", "learner": "ok", "trainer": "ok", "secretariat": "ok", "admin": "ok"}
STAFF = {"anonymous": "login", "learner": "403", "trainer": "403", "secretariat": "ok", "admin": "ok"}

TABLE: dict[tuple[str, str], dict[str, str]] = {
    ("GET", "/account/data"): SIGNED_IN,
    ("GET", "/account/data/export.json"): SIGNED_IN,
    ("POST", "/account/erase"): SIGNED_IN,
    ("GET", "/secretariat/accounts"): STAFF,
    ("POST", "/secretariat/accounts/<int:user_id>/erase"): STAFF,
    ("GET", "/api/v1/me/export"): SIGNED_IN,
}


def test_the_table_covers_every_route(app: Flask) -> None:
    prefixes = ("/account/data", "/account/erase", "/secretariat/accounts", "/api/v1/me/export")
    routes = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(prefixes)
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routes == set(TABLE)


def test_every_principal_on_every_route(
    app: Flask,
    create_user: Callable[..., User],
    login: Callable[..., None],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    target = create_user()
    users = {
        "learner": create_user(),
        "trainer": create_user(roles=("trainer",)),
        "secretariat": create_user(roles=("secretariat",)),
        "admin": create_user(roles=("admin",)),
    }
    for name in PRINCIPALS:
        client = app.test_client()
        client.environ_base["wsgi.url_scheme"] = "https"
        headers = {}
        if name != "anonymous":
            login(client, users[name])
            headers = api_token(users[name])
        token = csrf_from(client.get("/login").get_data(as_text=True))
        for (method, rule), expected in TABLE.items():
            path = rule.replace("<int:user_id>", str(target.id))
            if method == "POST":
                # an empty form erases nothing; who gets past the role check sees it refused (400)
                response = client.post(path, data={"csrf_token": token})
                assert response.status_code != 200, (name, path)
            else:
                response = client.get(path, headers=headers if path.startswith("/api/") else {})
            status, location = response.status_code, response.headers.get("Location", "")
            got = (
                "login" if status == 401 or (status == 302 and "/login" in location)
                else "403" if status == 403 else "ok" if status in (200, 400) else str(status)
            )  # fmt: skip
            assert got == expected[name], (name, method, path, status)
    db.session.expire_all()
    assert target.erased_at is None and all(user.erased_at is None for user in users.values())
