"""Registration, sign-in, sign-out, profile and passwords through the pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from learning.auth.models import LoginSession, Registration, User
from learning.db import utcnow
from learning.extensions import db
from tests.auth.registration import CONFIRM, confirm
from tests.conftest import csrf_from, post_form
from tests.fixtures.factories import PASSWORD

PROFILE = {
    "full_name": "Иван Петров",
    "country": "RU",
    "organisation": "Rosmorport",
    "organisation_type": "port_authority",
    "job_title": "Analyst",
    "language": "ru",
    "timezone": "Asia/Vladivostok",
}


def register(
    client: FlaskClient,
    email: str = "ivan@example.org",
    password: str = "a long port passphrase",
    **extra: str,
) -> object:
    return post_form(
        client, "/register", {"email": email, "password": password, "confirm": password, **PROFILE, **extra}
    )


def test_register_keeps_the_name_exactly_and_dates_the_consent(client: FlaskClient, mailbox) -> None:
    response = register(client, consent_share_progress="y")
    assert response.status_code == 302 and response.headers["Location"] == "/register/sent"
    # no account until the address is confirmed
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
    sent = client.get("/register/sent").get_data(as_text=True)
    assert "Check your e-mail" in sent
    [message] = mailbox.to("ivan@example.org")
    assert message["Subject"] == "Confirm your e-mail address for Smart Port Academy"
    assert "Иван Петров" in mailbox.text(message) and message.is_multipart()
    link = mailbox.link("ivan@example.org", CONFIRM)
    page = client.get(link)
    assert page.status_code == 200 and "Confirm ivan@example.org" in page.get_data(as_text=True)
    response = post_form(client, link, {})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    user = db.session.scalar(select(User).where(User.email == "ivan@example.org"))
    assert user.full_name == "Иван Петров" and user.roles == {"learner"}
    assert (user.country, user.organisation, user.language, user.timezone) == (
        "RU",
        "Rosmorport",
        "ru",
        "Asia/Vladivostok",
    )
    assert user.consent_share_progress_at is not None
    assert user.password_hash.startswith("$argon2id$")
    assert "My learning" in client.get("/").get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 0
    # the password given at registration signs in
    post_form(client, "/logout", {}, "/logout")
    signed_in = post_form(
        client, "/login", {"email": "ivan@example.org", "password": "a long port passphrase"}
    )
    assert signed_in.status_code == 302


def test_register_without_consent_and_with_bad_fields(client: FlaskClient, mailbox) -> None:
    response = register(client, email="not an email")
    assert response.status_code == 200 and "Please correct the fields" in response.get_data(as_text=True)
    response = register(client, password="password")
    assert "too common" in response.get_data(as_text=True) or "at least" in response.get_data(as_text=True)
    response = register(client, full_name="Bad\nName")
    assert "control characters" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 0
    assert mailbox.messages == []
    assert register(client).status_code == 302
    assert db.session.scalar(select(Registration)).consent_share_progress is False
    assert confirm(client, mailbox, "ivan@example.org").status_code == 302
    assert db.session.scalar(select(User)).consent_share_progress_at is None


def test_registration_answers_alike_whether_or_not_the_address_has_an_account(
    client: FlaskClient, create_user, mailbox
) -> None:
    """The form's answer (status, redirect, the page it leads to) tells nothing; the e-mail tells the
    owner of the address, whatever the case of the address typed."""
    create_user(email="chan@mardep.gov.hk", full_name="Chan Tai Man")
    taken = register(client, email="CHAN@Mardep.gov.hk")
    new = register(client, email="wong@mardep.gov.hk")
    assert (taken.status_code, taken.headers["Location"]) == (new.status_code, new.headers["Location"])
    assert taken.get_data() == new.get_data()
    [note] = mailbox.to("chan@mardep.gov.hk")
    assert note["Subject"] == "You already have a Smart Port Academy account"
    assert "already has an account. Nothing was changed." in mailbox.text(note)
    assert "http://localhost/password/forgot" in mailbox.text(note)
    assert CONFIRM not in mailbox.text(note)
    [link] = mailbox.to("wong@mardep.gov.hk")
    assert CONFIRM in mailbox.text(link)
    # the taken address's account is as it was, and no registration waits for it
    assert (
        db.session.scalar(select(User).where(User.email == "chan@mardep.gov.hk")).full_name == "Chan Tai Man"
    )
    assert db.session.scalars(select(Registration.email)).all() == ["wong@mardep.gov.hk"]


def test_a_confirmation_link_works_once_and_a_new_registration_replaces_the_old(
    client: FlaskClient, mailbox
) -> None:
    register(client, full_name="First Name")
    first = mailbox.link("ivan@example.org", CONFIRM)
    # opening the link (a mail scanner does) uses nothing up
    assert client.get(first).status_code == 200 and client.get(first).status_code == 200
    register(client, full_name="Second Name")
    second = mailbox.link("ivan@example.org", CONFIRM)
    assert second != first
    # the first link died with the registration it belonged to
    response = client.get(first)
    assert response.status_code == 302 and response.headers["Location"] == "/register"
    assert "not valid any more" in client.get("/register").get_data(as_text=True)
    assert post_form(client, second, {}).status_code == 302
    assert db.session.scalar(select(User)).full_name == "Second Name"
    # used: a second press, from another browser, makes nothing and signs no one in
    other = client.application.test_client()
    html = other.get("/login").get_data(as_text=True)
    again = other.post(second, data={"csrf_token": csrf_from(html)})
    assert again.status_code == 302 and again.headers["Location"] == "/register"
    assert db.session.scalar(select(func.count()).select_from(User)) == 1
    assert client.get("/register/confirm/" + "x" * 200).status_code == 404


def test_an_expired_confirmation_link_is_refused_and_swept(app, client: FlaskClient, mailbox) -> None:
    register(client)
    link = mailbox.link("ivan@example.org", CONFIRM)
    html = client.get(link).get_data(as_text=True)
    for registration in db.session.scalars(select(Registration)):
        registration.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get(link).headers["Location"] == "/register"
    response = client.post(link, data={"csrf_token": csrf_from(html)})
    assert response.status_code == 302 and response.headers["Location"] == "/register"
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
    register(client, email="later@example.org")
    # the periodic sweep deletes the expired registration (its name and address) and keeps the live one
    from learning.certificates.tasks import sweep_certificates

    sweep_certificates.delay()
    assert db.session.scalars(select(Registration.email)).all() == ["later@example.org"]


def test_an_address_that_got_an_account_meanwhile_is_not_registered_twice(
    client: FlaskClient, create_user, mailbox
) -> None:
    register(client)
    create_user(email="ivan@example.org", full_name="Made by an administrator")
    response = confirm(client, mailbox, "ivan@example.org")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert "already exists" in client.get("/login").get_data(as_text=True)
    assert db.session.scalar(select(User)).full_name == "Made by an administrator"


def test_registration_e_mails_to_one_address_are_limited(client: FlaskClient, create_user, mailbox) -> None:
    """The form cannot flood a mailbox: past two e-mails a minute to one address, nothing more is sent, and
    the answer stays the same."""
    create_user(email="victim@example.org")
    for _ in range(4):
        assert register(client, email="victim@example.org").headers["Location"] == "/register/sent"
        assert register(client, email="someone@example.org").headers["Location"] == "/register/sent"
    assert len(mailbox.to("victim@example.org")) == 2
    assert len(mailbox.to("someone@example.org")) == 2


def test_login_and_logout_and_no_replay(client: FlaskClient, create_user, login) -> None:
    user = create_user()
    login(client, user)
    assert client.get("/dashboard").status_code == 200
    cookie = client.get_cookie("academy_session").value
    post_form(client, "/dashboard", {}, "/logout")
    assert client.get("/dashboard").status_code == 302
    # the old cookie, replayed, is no longer a session
    client.set_cookie("academy_session", cookie, domain="localhost")
    response = client.get("/dashboard")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_session_cookie_is_new_at_login_and_carries_flags(client: FlaskClient, create_user) -> None:
    user = create_user()
    client.get("/login")
    before = client.get_cookie("academy_session").value
    response = post_form(client, "/login", {"email": user.email, "password": PASSWORD})
    header = response.headers["Set-Cookie"]
    assert "HttpOnly" in header and "Secure" in header and "SameSite=Lax" in header
    assert client.get_cookie("academy_session").value != before
    expiry = db.session.scalar(select(LoginSession.expires_at))
    assert expiry - utcnow() <= timedelta(hours=12)


def test_expired_or_deactivated_sessions_end(client: FlaskClient, create_user, login) -> None:
    user = create_user()
    login(client, user)
    db.session.execute(LoginSession.__table__.update().values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert client.get("/dashboard").status_code == 302
    login(client, user)
    user.active = False
    db.session.commit()
    assert client.get("/dashboard").status_code == 302


def test_wrong_password_unknown_account_and_lockout(client: FlaskClient, create_user) -> None:
    user = create_user()
    wrong = post_form(client, "/login", {"email": user.email, "password": "wrong password"})
    unknown = post_form(client, "/login", {"email": "ghost@example.org", "password": "wrong password"})
    assert wrong.status_code == unknown.status_code == 401
    strip = re.compile(r'value="[^"]*"')
    assert strip.sub("", wrong.get_data(as_text=True)).replace(user.email, "") == strip.sub(
        "", unknown.get_data(as_text=True)
    ).replace("ghost@example.org", "")
    for _ in range(5):
        post_form(
            client,
            "/login",
            {"email": user.email, "password": "wrong password"},
            environ_base={"REMOTE_ADDR": "10.9.9.9"},
        )
    db.session.refresh(user)
    assert user.locked_until is not None and user.locked_until > utcnow() + timedelta(minutes=29)
    # locked: even the right password is refused, with the same answer
    locked = post_form(
        client,
        "/login",
        {"email": user.email, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.9.9.8"},
    )
    assert locked.status_code == 401
    user.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    ok = post_form(
        client,
        "/login",
        {"email": user.email, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.9.9.7"},
    )
    assert ok.status_code == 302


def test_more_than_ten_attempts_a_minute_from_one_address_get_429(client: FlaskClient, create_user) -> None:
    user = create_user()
    statuses = [
        post_form(client, "/login", {"email": f"x{i}@example.org", "password": "nope nope"}).status_code
        for i in range(10)
    ]
    assert statuses == [401] * 10
    assert post_form(client, "/login", {"email": user.email, "password": PASSWORD}).status_code == 429


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/courses/harbour-basics", "/courses/harbour-basics"),
        ("https://evil.example/", "/dashboard"),
        ("//evil.example/", "/dashboard"),
        ("/\\evil.example", "/dashboard"),
        ("javascript:alert(1)", "/dashboard"),
    ],
)
def test_next_redirect_is_kept_on_site(client: FlaskClient, create_user, target: str, expected: str) -> None:
    user = create_user()
    response = post_form(
        client, "/login", {"email": user.email, "password": PASSWORD}, action=f"/login?next={target}"
    )
    assert response.status_code == 302 and response.headers["Location"] == expected


def test_profile_update_and_consent_withdrawal(client: FlaskClient, create_user, login) -> None:
    user = create_user(consent_share_progress=True)
    login(client, user)
    page = client.get("/account").get_data(as_text=True)
    assert "You agreed to share your progress" in page
    data = {
        **PROFILE,
        "full_name": "Trần Thị Bích",
        "country": "VN",
        "timezone": "Asia/Ho_Chi_Minh",
        "language": "vi",
    }
    assert post_form(client, "/account", data).status_code == 302
    db.session.refresh(user)
    assert user.full_name == "Trần Thị Bích" and user.consent_share_progress_at is None
    bad = post_form(client, "/account", {**data, "timezone": "Nowhere/City"})
    assert bad.status_code == 200 and "Not a valid choice" in bad.get_data(as_text=True)


def test_password_change_signs_out_other_sessions(
    app, client: FlaskClient, create_user, login, api_token
) -> None:
    user = create_user()
    other = app.test_client()
    other.environ_base["wsgi.url_scheme"] = "https"
    login(other, user)
    login(client, user)
    headers = api_token(user)
    new = "another long passphrase"
    response = post_form(
        client, "/account/password", {"current_password": PASSWORD, "password": new, "confirm": new}
    )
    assert response.status_code == 302
    assert client.get("/dashboard").status_code == 200  # this browser stays signed in
    assert other.get("/dashboard").status_code == 302  # the other one is out
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    wrong = post_form(
        client, "/account/password", {"current_password": "nope", "password": new + "x", "confirm": new + "x"}
    )
    assert "not your current password" in wrong.get_data(as_text=True)


def test_password_reset_by_email(client: FlaskClient, create_user, mailbox) -> None:
    user = create_user(full_name="Siosaia Tonga")
    response = post_form(client, "/password/forgot", {"email": user.email.upper()})
    assert response.status_code == 302
    unknown = post_form(client, "/password/forgot", {"email": "nobody@example.org"})
    assert unknown.status_code == 302
    assert len(mailbox.messages) == 1
    message = mailbox.messages[0]
    assert message["To"] == user.email and message.is_multipart()
    text = message.get_body(("plain",)).get_content()
    assert "Siosaia Tonga" in text
    link = re.search(r"http://localhost(/password/reset/\S+)", text).group(1)
    new = "a brand new passphrase"
    assert post_form(client, link, {"password": new, "confirm": new}).status_code == 302
    # single use
    assert post_form(client, link, {"password": new, "confirm": new}).status_code == 400
    login_ok = post_form(client, "/login", {"email": user.email, "password": new})
    assert login_ok.status_code == 302


def test_expired_reset_link_is_refused(client: FlaskClient, create_user, mailbox) -> None:
    from learning.auth.models import PasswordReset

    user = create_user()
    post_form(client, "/password/forgot", {"email": user.email})
    link = re.search(r"(/password/reset/\S+)", mailbox.messages[0].get_body(("plain",)).get_content()).group(
        1
    )
    for reset in db.session.scalars(select(PasswordReset)):
        reset.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert (
        post_form(
            client, link, {"password": "whatever long pass", "confirm": "whatever long pass"}
        ).status_code
        == 400
    )
    assert client.get("/password/reset/" + "x" * 200).status_code == 404


def test_no_reset_email_when_the_transaction_rolls_back(app, create_user, mailbox) -> None:
    """A task published inside a transaction that rolls back never runs (RELIABILITY rule 4)."""
    from learning.mail.tasks import send_email
    from learning.outbox import after_commit

    create_user()
    after_commit(lambda: send_email.delay("x@example.org", "subject", "text"))
    db.session.rollback()
    db.session.commit()
    assert mailbox.messages == []
    after_commit(lambda: send_email.delay("x@example.org", "subject", "text"))
    db.session.commit()
    assert len(mailbox.messages) == 1


def test_logout_needs_a_post_with_a_token(client: FlaskClient, create_user, login) -> None:
    user = create_user()
    login(client, user)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/dashboard").status_code == 200
