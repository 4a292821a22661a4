"""Sessions, brute force and passwords against their targets (issue 7, rows 4, 5 and 6).

Sessions: 0 replays succeed (after sign-out, a password reset, a deactivation; a cookie from before sign-in),
12 hours from sign-in at most. Brute force: locked after 6 failures for 30 minutes, 429 past 10 attempts a
minute per address on sign-in, tokens and reset, unknown and known accounts answered alike. Passwords: 8
characters at least, 64 (and 256) accepted, the shipped common list refused, Argon2id, nothing truncated;
through the pages, the API and `flask users create`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from importlib import resources

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select

from learning.auth import services
from learning.auth.models import LoginSession, User
from learning.db import utcnow
from learning.extensions import db
from tests.auth.registration import confirm
from tests.conftest import post_form
from tests.fixtures.factories import PASSWORD

VOLATILE = re.compile(r'(value|nonce)="[^"]*"')


def browser(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    return client


def same_page(a: str, b: str, *emails: str) -> bool:
    """Whether two pages are the same but for form values, nonces and the e-mail addresses typed in."""

    def clean(text: str) -> str:
        text = VOLATILE.sub("", text)
        for email in emails:
            text = text.replace(email, "")
        return text

    return clean(a) == clean(b)


def common_passwords(n: int) -> list[str]:
    text = resources.files("learning.auth").joinpath("common-passwords.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if len(line.strip()) >= 8][:n]


# --- row 4: sessions ------------------------------------------------------------------------------------


def test_a_session_ends_12_hours_after_sign_in_whatever_its_expiry_says(
    client: FlaskClient, create_user: Callable[..., User], login
) -> None:
    user = create_user()
    login(client, user)
    row = db.session.scalar(select(LoginSession).where(LoginSession.user_id == user.id))
    assert row.expires_at - row.created_at <= timedelta(hours=12)
    expires = row.expires_at
    assert client.get("/dashboard").status_code == 200
    db.session.refresh(row)
    assert row.expires_at == expires  # use does not extend it
    # started 11 h 59 ago: still on
    row.created_at = utcnow() - timedelta(hours=11, minutes=59)
    db.session.commit()
    assert client.get("/dashboard").status_code == 200
    # started 12 h 01 ago, the expiry left in the future: over
    row.created_at = utcnow() - timedelta(hours=12, minutes=1)
    db.session.commit()
    response = client.get("/dashboard")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_cookie_from_before_sign_in_never_becomes_the_session(
    app: Flask, client: FlaskClient, create_user: Callable[..., User], login
) -> None:
    user = create_user()
    client.get("/login")
    planted = client.get_cookie("academy_session").value
    login(client, user)
    assert client.get_cookie("academy_session").value != planted
    attacker = browser(app)
    attacker.set_cookie("academy_session", planted, domain="localhost")
    assert attacker.get("/dashboard").status_code == 302
    # a second sign-in is another session, with another key
    login(browser(app), user)
    keys = db.session.scalars(select(LoginSession.key_hash).where(LoginSession.user_id == user.id)).all()
    assert len(keys) == len(set(keys)) == 2


def test_no_replay_after_a_password_reset_or_a_deactivation(
    app: Flask, client: FlaskClient, create_user: Callable[..., User], login, api_token, mailbox
) -> None:
    user = create_user()
    login(client, user)
    cookie = client.get_cookie("academy_session").value
    headers = api_token(user)
    # reset by e-mail, from another browser
    other = browser(app)
    post_form(other, "/password/forgot", {"email": user.email})
    link = re.search(r"(/password/reset/\S+)", mailbox.messages[-1].get_body(("plain",)).get_content()).group(
        1
    )
    new = "another long passphrase"
    assert post_form(other, link, {"password": new, "confirm": new}).status_code == 302
    replay = browser(app)
    replay.set_cookie("academy_session", cookie, domain="localhost")
    assert replay.get("/dashboard").status_code == 302
    assert client.get("/dashboard").status_code == 302
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    # deactivated: the new session and token stop, and signing in is refused like a wrong password
    login(client, user, new)
    cookie = client.get_cookie("academy_session").value
    headers = api_token(user)
    user.active = False
    db.session.commit()
    replay.set_cookie("academy_session", cookie, domain="localhost")
    assert replay.get("/dashboard").status_code == 302
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert post_form(client, "/login", {"email": user.email, "password": new}).status_code == 401


# --- row 5: brute force ---------------------------------------------------------------------------------


def sign_in(client: FlaskClient, email: str, password: str, address: str) -> object:
    return post_form(
        client, "/login", {"email": email, "password": password}, environ_base={"REMOTE_ADDR": address}
    )


def test_six_failures_lock_the_account_for_thirty_minutes(
    client: FlaskClient, create_user: Callable[..., User]
) -> None:
    user = create_user()
    for n in range(5):  # from five addresses: the lock is per account
        assert sign_in(client, user.email, "wrong password", f"10.1.0.{n}").status_code == 401
    db.session.refresh(user)
    assert user.locked_until is None
    before = utcnow()
    assert sign_in(client, user.email, "wrong password", "10.1.0.5").status_code == 401
    db.session.refresh(user)
    assert before + timedelta(minutes=30) <= user.locked_until <= utcnow() + timedelta(minutes=30)
    # locked: the right password gets the answer a wrong one gets, on the page and through the API
    wrong = sign_in(client, user.email, "wrong password", "10.1.0.6")
    right = sign_in(client, user.email, PASSWORD, "10.1.0.7")
    assert right.status_code == wrong.status_code == 401
    assert same_page(right.get_data(as_text=True), wrong.get_data(as_text=True))
    token = client.post("/api/v1/auth/tokens", json={"email": user.email, "password": PASSWORD})
    assert token.status_code == 401 and token.get_json()["error"]["code"] == "invalid_credentials"
    # thirty minutes later
    user.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert sign_in(client, user.email, PASSWORD, "10.1.0.8").status_code == 302


def attempt(client: FlaskClient, kind: str, email: str, address: str) -> int:
    environ = {"REMOTE_ADDR": address}
    if kind == "login":
        data = {"email": email, "password": "wrong password"}
        return int(post_form(client, "/login", data, environ_base=environ).status_code)
    if kind == "token":
        data = {"email": email, "password": "wrong password"}
        return int(client.post("/api/v1/auth/tokens", json=data, environ_base=environ).status_code)
    return int(post_form(client, "/password/forgot", {"email": email}, environ_base=environ).status_code)


@pytest.mark.parametrize(("kind", "answer"), [("login", 401), ("token", 401), ("reset", 302)])
def test_past_ten_attempts_a_minute_one_address_gets_429(
    client: FlaskClient, create_user: Callable[..., User], kind: str, answer: int
) -> None:
    user = create_user()
    assert [attempt(client, kind, f"x{n}@example.org", "10.2.0.1") for n in range(10)] == [answer] * 10
    assert attempt(client, kind, user.email, "10.2.0.1") == 429
    assert attempt(client, kind, user.email, "10.2.0.2") == answer  # another address is not held up


def test_the_page_and_the_api_share_the_sign_in_count(client: FlaskClient) -> None:
    statuses = [
        attempt(client, "login" if n % 2 else "token", f"y{n}@example.org", "10.3.0.1") for n in range(10)
    ]
    assert statuses == [401] * 10
    assert attempt(client, "token", "z@example.org", "10.3.0.1") == 429
    assert attempt(client, "login", "z@example.org", "10.3.0.1") == 429


def test_known_and_unknown_accounts_get_the_same_answers(
    app: Flask, client: FlaskClient, create_user: Callable[..., User], mailbox
) -> None:
    known = create_user()
    unknown = "nobody-here@example.org"
    # sign-in: wrong password, unknown account, deactivated account
    inactive = create_user()
    inactive.active = False
    db.session.commit()
    pages = {
        email: sign_in(browser(app), email, "wrong password", "10.4.0.1")
        for email in (known.email, unknown, inactive.email)
    }
    assert {r.status_code for r in pages.values()} == {401}  # type: ignore[attr-defined]
    first = pages[known.email].get_data(as_text=True)  # type: ignore[attr-defined]
    for email, response in pages.items():
        assert same_page(response.get_data(as_text=True), first, email, known.email)  # type: ignore[attr-defined]
    # tokens through the API
    answers = [
        client.post("/api/v1/auth/tokens", json={"email": email, "password": "wrong password"})
        for email in (known.email, unknown, inactive.email)
    ]
    assert {a.status_code for a in answers} == {401}
    assert len({a.get_data() for a in answers}) == 1
    # password reset: the same redirect and the same page after it, an e-mail only to the real account
    resets = []
    for email in (known.email, unknown):
        other = browser(app)
        response = post_form(
            other, "/password/forgot", {"email": email}, environ_base={"REMOTE_ADDR": "10.4.0.2"}
        )
        resets.append(
            (response.status_code, response.headers["Location"], other.get(response.headers["Location"]))
        )
    assert resets[0][:2] == resets[1][:2] == (302, "/login")
    assert same_page(resets[0][2].get_data(as_text=True), resets[1][2].get_data(as_text=True))
    assert [m["To"] for m in mailbox.messages] == [known.email]


def register(
    client: FlaskClient, email: str, address: str = "127.0.0.1", password: str = "a long port passphrase"
):
    data = {
        "email": email, "password": password, "confirm": password, "full_name": "Ana Reyes", "country": "PH",
        "organisation_type": "port_authority", "language": "en", "timezone": "Asia/Manila",
    }  # fmt: skip
    return post_form(client, "/register", data, environ_base={"REMOTE_ADDR": address})


def register_api(
    client: FlaskClient, email: str, address: str = "127.0.0.1", password: str = "a long port passphrase"
):
    body = {"email": email, "password": password, "name": "Ana Reyes", "country": "PH", "language": "en",
            "timezone": "Asia/Manila", "organisation_type": "port_authority"}  # fmt: skip
    return client.post("/api/v1/auth/register", json=body, environ_base={"REMOTE_ADDR": address})


def test_registrations_from_one_address_are_limited_to_thirty_a_minute(
    app: Flask, create_user: Callable[..., User], monkeypatch: pytest.MonkeyPatch, mailbox
) -> None:
    """Registration answers alike for taken and new addresses (the e-mail tells which), so its limit is only
    against floods: REGISTRATIONS_PER_MINUTE (30) from one client address, enough for a classroom behind
    one address, then 429 for every registration from it, pages and API. Other addresses register as usual."""
    import learning.throttle

    now = utcnow()  # the count is per calendar minute: one minute for the whole test
    monkeypatch.setattr(learning.throttle, "utcnow", lambda: now)
    taken = create_user(email="taken@example.org")
    client = browser(app)
    answers = set()
    for n in range(30):
        email = taken.email if n % 10 == 0 else f"class-{n}@example.org"
        if n % 2:
            response = register_api(client, email, "10.5.0.1")
            answers.add((response.status_code, response.get_json()["message"]))
        else:
            response = register(client, email, "10.5.0.1")
            answers.add((response.status_code, response.headers["Location"]))
    assert answers == {
        (202, "We sent a message to this address: open its link within 24 hours to confirm it."),
        (302, "/register/sent"),
    }
    assert register(client, "new-one@example.org", "10.5.0.1").status_code == 429
    assert register_api(client, "new-two@example.org", "10.5.0.1").status_code == 429
    assert register(client, taken.email, "10.5.0.1").status_code == 429
    assert register(browser(app), "new-three@example.org", "10.5.0.2").status_code == 302
    assert len(mailbox.to("new-three@example.org")) == 1 and mailbox.to("new-one@example.org") == []


# --- row 6: passwords -----------------------------------------------------------------------------------


def test_password_rules_through_the_pages(app: Flask, mailbox) -> None:
    client = browser(app)
    for password, why in [
        ("Pq7#xZ2", "at least 8"),
        *[(p, "too common") for p in common_passwords(3)],
        ("q" * 257, "at most 256"),
    ]:
        response = register(client, "rules@example.org", password=password)
        assert response.status_code == 200 and why in response.get_data(as_text=True), password
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
    sixty_four = "Harbour pilots board 40 ships a day; berths turn in 6 hours!! ok"
    assert len(sixty_four) == 64
    assert register(client, "rules@example.org", password=sixty_four).status_code == 302
    assert confirm(client, mailbox, "rules@example.org").status_code == 302
    stored = db.session.scalar(select(User.password_hash).where(User.email == "rules@example.org"))
    assert stored.startswith("$argon2id$")
    memory, time = (int(v) for v in re.search(r"m=(\d+),t=(\d+)", stored).groups())
    assert memory >= 19_456 and time >= 2  # OWASP's least for Argon2id
    assert register(browser(app), "eight@example.org", password="Pq7#xZ2k").status_code == 302


@pytest.mark.parametrize("prefix", ["x" * 72, "ü" * 36, "y" * 100])  # 72 characters, 72 bytes, 100
def test_no_password_is_truncated_pages_and_api(app: Flask, prefix: str, mailbox) -> None:
    client = browser(app)
    assert register(client, "long@example.org", password=prefix + "-first").status_code == 302
    assert confirm(browser(app), mailbox, "long@example.org").status_code == 302
    assert sign_in(browser(app), "long@example.org", prefix + "-other", "10.6.0.1").status_code == 401
    assert sign_in(browser(app), "long@example.org", prefix + "-first", "10.6.0.1").status_code == 302
    assert register_api(client, "long-api@example.org", password=prefix + "-first").status_code == 202
    assert confirm(browser(app), mailbox, "long-api@example.org").status_code == 302
    token = client.post(
        "/api/v1/auth/tokens", json={"email": "long-api@example.org", "password": prefix + "-other"}
    )
    assert token.status_code == 401
    token = client.post(
        "/api/v1/auth/tokens", json={"email": "long-api@example.org", "password": prefix + "-first"}
    )
    assert token.status_code == 201


def test_password_rules_through_the_api(app: Flask, mailbox) -> None:
    client = browser(app)
    for password, why in [("Pq7#xZ2", "at least 8"), (common_passwords(1)[0], "too common")]:
        response = register_api(client, "api-rules@example.org", password=password)
        assert response.status_code == 422 and why in response.get_json()["error"]["fields"]["password"]
    response = register_api(client, "api-rules@example.org", password="q" * 257)
    assert response.status_code == 422 and "password" in response.get_json()["error"]["fields"]
    assert register_api(client, "api-rules@example.org", password="p" * 63 + "!").status_code == 202
    assert confirm(browser(app), mailbox, "api-rules@example.org").status_code == 302


def test_password_rules_through_the_command_line(runner: FlaskCliRunner) -> None:
    def create(email: str, password: str) -> object:
        return runner.invoke(
            args=["users", "create", email, "--name", "T", "--password-stdin"], input=password + "\n"
        )

    for password, why in [
        ("Pq7#xZ2", "at least 8"),
        (common_passwords(1)[0], "too common"),
        ("q" * 257, "at most 256"),
    ]:
        result = create("cli@example.org", password)
        assert result.exit_code == 1 and why in result.output, result.output  # type: ignore[attr-defined]
    long = "z" * 100 + "-first"
    assert create("cli@example.org", long).exit_code == 0  # type: ignore[attr-defined]
    stored = db.session.scalar(select(User.password_hash).where(User.email == "cli@example.org"))
    assert stored.startswith("$argon2id$")
    with pytest.raises(services.AuthError):
        services.authenticate("cli@example.org", "z" * 100 + "-other")
    assert services.authenticate("cli@example.org", long).email == "cli@example.org"
