"""The lesson page is rendered once per lesson, locale, roles and completion state and shared between
learners (learning.progress.fragments): each learner still gets their own CSRF token, menu, completion mark
and flashed messages, the shared page is the page rendered in full, and it cannot show more of a learner."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient

from learning.auth.models import User
from learning.extensions import db
from learning.progress import fragments
from learning.progress import services as progress

PAGE = "/courses/harbour-basics/lessons/first-a"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
FLASHES = re.compile(r'\s*<div class="flashes" role="status">.*?</div>', re.S)


def without_flashes_and_token(html: str) -> list[str]:
    """The page's lines but blank ones, without the flashed messages and the (time-stamped) CSRF token."""
    return [line for line in TOKEN.sub("", FLASHES.sub("", html)).splitlines() if line.strip()]


def browser(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    return client


def test_each_learner_gets_their_own_token_menu_and_completion(
    app: Flask, create_user: Callable[..., User], login, enrol
) -> None:
    learner, staff = create_user(), create_user(roles=("learner", "secretariat"))
    enrol(learner)
    progress.complete_lesson(enrol(staff), "first-a")
    db.session.commit()
    pages: dict[int, list[str]] = {}
    for round_, user in [(1, learner), (1, staff), (2, learner), (2, staff)]:  # round 2: the shared pages
        client = browser(app)
        login(client, user)
        html = client.get(PAGE).get_data(as_text=True)
        assert fragments.CSRF_MARK not in html and fragments.NONCE_MARK not in html
        tokens = set(TOKEN.findall(html))
        assert len(tokens) == 1  # the sign-out form's and the completion form's
        pages.setdefault(user.id, []).append(tokens.pop())
        assert ('href="/reports' in html) == (user is staff)
        # the learner completes the lesson in round 1, with the page's token: it is this session's
        assert ("✓ completed" in html) == (user is staff or round_ == 2)
        done = client.post(f"{PAGE}/complete", data={"csrf_token": TOKEN.search(html).group(1)})
        assert done.status_code == 302
    assert not set(pages[learner.id]) & set(pages[staff.id])


@pytest.mark.parametrize("roles", [(), ("learner", "admin")])
@pytest.mark.parametrize("completed", [False, True])
def test_the_shared_page_is_the_page_rendered_in_full(
    app: Flask, create_user: Callable[..., User], login, enrol, roles, completed
) -> None:
    user = create_user(roles=roles)
    enrolment = enrol(user)
    if completed:
        progress.complete_lesson(enrolment, "first-a")
        db.session.commit()
    client = browser(app)
    login(client, user)
    client.get(PAGE)
    shared = client.get(PAGE).get_data(as_text=True)
    with client.session_transaction() as session:  # a message waiting: this page is rendered in full
        session["_flashes"] = [("info", "Welcome back.")]
    full = client.get(PAGE).get_data(as_text=True)
    assert '<p class="flash info">Welcome back.</p>' in full and "Welcome back." not in shared
    assert "Welcome back." not in client.get(PAGE).get_data(as_text=True)  # shown once, as ever
    assert without_flashes_and_token(full) == without_flashes_and_token(shared)


def test_a_shared_page_cannot_show_more_of_the_learner(app: Flask) -> None:
    viewer = fragments._Viewer(frozenset({"learner"}))
    assert viewer.is_authenticated and viewer.has_role("learner") and not viewer.has_role("admin")
    refused = [
        ("{{ current_user.full_name }}", {"current_user": viewer}),
        ("{{ completed_at }}", {"completed_at": fragments._Completed(True)}),
        ("{{ request.path }}", {"request": fragments._Refused("request")}),
        ("{{ session }}", {"session": fragments._Refused("session")}),
        ("{{ g.anything }}", {"g": fragments._Refused("g")}),
    ]
    with app.test_request_context("/"):
        assert render_template_string("{% if done %}yes{% endif %}", done=fragments._Completed(True)) == "yes"
        for template, context in refused:
            with pytest.raises(fragments.SharedPageError):
                render_template_string(template, **context)
