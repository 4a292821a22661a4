"""One-click unsubscribe with a signed link (GET asks, POST acts) and the preferences page."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from learning.reminders import services
from learning.reminders.links import unsubscribe_token
from tests.conftest import csrf_from, post_form
from tests.reminders.conftest import step, utc

MORNING = utc("2026-12-01T02:00")


def test_get_asks_and_changes_nothing_post_unsubscribes(app: Flask, client: FlaskClient, learner) -> None:
    user, _ = learner(last_active=MORNING - timedelta(days=10))
    url = f"/reminders/unsubscribe/{unsubscribe_token(user.id)}"
    page = client.get(url)
    assert page.status_code == 200
    assert "Stop these e-mails to" in page.get_data(as_text=True) and "all reminder e-mails" in page.get_data(
        as_text=True
    )
    assert services.opt_outs(user.id) == set()
    done = client.post(url)  # the page's button: no CSRF token, the signed link is the proof
    assert done.status_code == 200 and "You are unsubscribed" in done.get_data(as_text=True)
    assert services.opt_outs(user.id) == {"all"}
    assert client.post(url).status_code == 200, "a second click is harmless"
    assert services.scan(MORNING).pending == []


def test_rfc_8058_one_click_post_from_a_mail_program(app: Flask, client: FlaskClient, learner) -> None:
    user, _ = learner()
    response = client.post(
        f"/reminders/unsubscribe/{unsubscribe_token(user.id, 'deadline')}",
        data={"List-Unsubscribe": "One-Click"},
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert services.opt_outs(user.id) == {"deadline"}


def test_a_tampered_or_foreign_token_is_a_friendly_400(app: Flask, client: FlaskClient, learner) -> None:
    user, _ = learner()
    token = unsubscribe_token(user.id)
    payload, signature = token.split(".")
    other = unsubscribe_token(user.id + 1).split(".")[0]
    for bad in (
        f"{other}.{signature}",  # someone else's id with this signature
        token[:-3],  # cut short by a mail program
        "x" * 300,
        "bm90IGpzb24.abc",
    ):
        for method in ("GET", "POST"):
            response = client.open(f"/reminders/unsubscribe/{bad}", method=method)
            assert response.status_code == 400, (bad, method)
            assert "This link does not work" in response.get_data(as_text=True)
    assert services.opt_outs(user.id) == set()
    # a signed token for an account that no longer exists
    gone = client.get(f"/reminders/unsubscribe/{unsubscribe_token(10**9)}")
    assert gone.status_code == 400


def test_preferences_on_the_profile(app: Flask, client: FlaskClient, learner, login, mailbox) -> None:
    user, _ = learner(last_active=MORNING - timedelta(days=10))
    login(client, user)
    assert 'href="/account/reminders"' in client.get("/account").get_data(as_text=True)
    page = client.get("/account/reminders").get_data(as_text=True)
    assert page.count("checked") == 4, "every reminder is on at first"
    # unchecked boxes are simply absent from the form
    response = post_form(
        client, "/account/reminders", {"deadline": "y", "certificate": "y", "quiz_failed": "y"}
    )
    assert response.status_code == 302
    assert services.opt_outs(user.id) == {"inactivity"}
    step(MORNING)
    assert mailbox.messages == [], "the only due reminder is one the learner turned off"
    post_form(client, "/account/reminders", {"inactivity": "y", "stop_all": "y"})
    assert services.opt_outs(user.id) == {"deadline", "certificate", "quiz_failed", "all"}
    post_form(
        client,
        "/account/reminders",
        dict.fromkeys(("inactivity", "deadline", "certificate", "quiz_failed"), "y"),
    )
    assert services.opt_outs(user.id) == set()


def test_preferences_need_sign_in_and_a_csrf_token(app: Flask, client: FlaskClient, learner, login) -> None:
    assert client.get("/account/reminders").status_code == 302
    user, _ = learner()
    login(client, user)
    html = client.get("/account/reminders").get_data(as_text=True)
    assert csrf_from(html)
    response = client.post("/account/reminders", data={"stop_all": "y"})
    assert response.status_code == 400
    assert services.opt_outs(user.id) == set()
