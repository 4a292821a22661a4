"""The lesson page and the lesson API check the web session or the bearer token and read course, enrolment,
version title and completion in one statement, and answer as before: the sign-in page or 401 for a credential
that is not live, 404, the redirect or 403 to enrol, the learner's own version and completion."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import update

from learning.auth.models import ApiToken, LoginSession, User
from learning.catalog.models import Course, CourseVersion
from learning.db import utcnow
from learning.extensions import db
from learning.progress import services as progress
from learning.progress.models import Enrolment
from tests.conftest import post_form
from tests.fixtures.factories import PASSWORD
from tests.progress.test_query_counts import counting

PAGE = "/courses/harbour-basics/lessons/first-a"
API = "/api/v1/courses/harbour-basics/lessons/first-a"


def test_a_learner_who_is_not_studying_is_sent_to_enrol(
    client: FlaskClient, create_user: Callable[..., User], login, api_token, enrol, course: Course, caplog
) -> None:
    user = create_user()
    login(client, user)
    headers = api_token(user)
    response = client.get(PAGE)
    assert response.status_code == 302 and response.headers["Location"].endswith("/courses/harbour-basics")
    caplog.set_level("INFO", logger="learning.security")
    answer = client.get(API, headers=headers)
    assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "not_enrolled"
    refusal = json.loads(caplog.records[-1].getMessage())  # logged with who asked, like every refusal
    assert (refusal["event"], refusal["user_id"], refusal["route"]) == ("forbidden", user.id, f"GET {API}")

    progress.leave(enrol(user))
    db.session.commit()
    assert client.get(PAGE).status_code == 302
    assert client.get(API, headers=headers).get_json()["error"]["code"] == "not_enrolled"


def test_unknown_and_unpublished_courses_and_unknown_lessons_are_not_found(
    client: FlaskClient, create_user: Callable[..., User], login, api_token, enrol, course: Course
) -> None:
    user = create_user()
    enrol(user)
    login(client, user)
    headers = api_token(user)
    for page, api in [
        ("/courses/no-such-course/lessons/first-a", "/api/v1/courses/no-such-course/lessons/first-a"),
        ("/courses/harbour-basics/lessons/no-such-lesson", "/api/v1/courses/harbour-basics/lessons/nope"),
    ]:
        assert client.get(page).status_code == 404
        assert client.get(api, headers=headers).status_code == 404
    course.current_version_id = None
    db.session.commit()
    assert client.get(PAGE).status_code == 404
    assert client.get(API, headers=headers).get_json()["error"]["message"] == "No such course."


def test_the_page_shows_the_learners_own_version_and_completion(
    client: FlaskClient, create_user: Callable[..., User], login, api_token, enrol, course: Course
) -> None:
    user = create_user()
    enrolment: Enrolment = enrol(user)
    login(client, user)
    headers = api_token(user)
    old = course.current_version
    newer = CourseVersion(
        course_id=course.id, number=old.number + 1, title="Harbour basics, second edition", summary="S.",
        description_html="<p>D.</p>", language="en", hours=1, source_hash="0" * 64,
        published_at=old.published_at,
    )  # fmt: skip
    db.session.add(newer)
    db.session.flush()
    course.current_version_id = newer.id  # the learner stays on the version they enrolled in
    db.session.commit()

    html = client.get(PAGE).get_data(as_text=True)
    assert f">{old.title}</a>" in html and "second edition" not in html
    assert "completed" not in html and client.get(API, headers=headers).get_json()["completed_at"] is None

    progress.complete_lesson(enrolment, "first-a")
    db.session.commit()
    assert "✓ completed" in client.get(PAGE).get_data(as_text=True)
    assert client.get(API, headers=headers).get_json()["completed_at"] is not None


def test_a_lesson_takes_one_statement(
    client: FlaskClient, create_user: Callable[..., User], login, api_token, enrol
) -> None:
    user = create_user()
    enrol(user)
    login(client, user)
    headers = api_token(user)
    for path, extra in [(PAGE, {}), (API, {"headers": headers})]:
        client.get(path, **extra)  # caches the lesson and the outline, as a worker's earlier requests did
        db.session.expunge_all()
        with counting() as statements:
            assert client.get(path, **extra).status_code == 200
        assert len(statements) == 1, statements  # the session or token with the learner's access


def test_strangers_are_sent_to_sign_in_and_refused_by_the_api(client: FlaskClient, enrol, course) -> None:
    response = client.get(PAGE)
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]
    assert client.get("/courses/no-such-course/lessons/x").status_code == 302  # nothing said about courses
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        answer = client.get(API, headers=headers)
        assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "unauthorized"
    assert client.get("/api/v1/courses/no-such-course/lessons/x").status_code == 401


def test_a_credential_ended_in_the_database_fails_on_the_very_next_lesson_request(
    app, client: FlaskClient, create_user: Callable[..., User], login, api_token, enrol
) -> None:
    user = create_user()
    enrol(user)
    login(client, user)
    headers = api_token(user)
    assert client.get(PAGE).status_code == 200 and client.get(API, headers=headers).status_code == 200

    # signing out: the cookie, replayed, is no longer a session
    cookie = client.get_cookie("academy_session").value
    post_form(client, "/dashboard", {}, "/logout")
    client.set_cookie("academy_session", cookie, domain="localhost")
    response = client.get(PAGE)
    assert response.status_code == 302 and "/login" in response.headers["Location"]

    # a password changed in another browser ends this session and the token
    login(client, user)
    other = app.test_client()
    other.environ_base["wsgi.url_scheme"] = "https"
    login(other, user)
    new = "another long passphrase"
    post_form(other, "/account/password", {"current_password": PASSWORD, "password": new, "confirm": new})
    assert other.get(PAGE).status_code == 200
    assert client.get(PAGE).status_code == 302
    assert client.get(API, headers=headers).status_code == 401

    # a session or token past its expiry, or revoked
    login(client, user, new)
    headers = api_token(user)
    db.session.execute(update(LoginSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert client.get(PAGE).status_code == 302 and client.get(API, headers=headers).status_code == 401
    login(client, user, new)
    headers = api_token(user)
    db.session.execute(update(ApiToken).values(revoked_at=utcnow()))
    db.session.commit()
    assert client.get(PAGE).status_code == 200 and client.get(API, headers=headers).status_code == 401

    # a deactivated account
    headers = api_token(user)
    assert client.get(API, headers=headers).status_code == 200
    user.active = False
    db.session.commit()
    assert client.get(PAGE).status_code == 302 and client.get(API, headers=headers).status_code == 401


def test_the_page_is_the_signed_in_learners_own(
    client: FlaskClient, create_user: Callable[..., User], login, enrol
) -> None:
    learner, staff = create_user(), create_user(roles=("learner", "secretariat"))
    enrol(learner)
    enrol(staff)
    login(client, learner)
    html = client.get(PAGE).get_data(as_text=True)
    assert "My learning" in html and "Sign out" in html and "/reports" not in html
    login(client, staff)  # the roles come with the session's statement: the menu shows Reports
    assert 'href="/reports' in client.get(PAGE).get_data(as_text=True)


def test_a_route_that_checks_its_own_token_takes_no_roles_and_requires_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from learning.api.routing import api_route
    from learning.security import permissions

    def nowhere() -> None:
        """Never registered."""

    for access in (
        permissions.Access(frozenset({"admin"}), None, in_view=True),
        permissions.Access(None, None, in_view=True),
    ):
        monkeypatch.setitem(permissions.TABLE, "api.nowhere", access)
        with pytest.raises(ValueError, match="checks the token itself"):
            api_route("/nowhere", "GET", summary="Never registered")(nowhere)


def test_the_request_user_is_flask_logins_user() -> None:
    from learning.auth.login import RequestUser

    user = RequestUser(
        id=7, language="th", timezone="Asia/Bangkok", roles=frozenset({"learner"}), session_key="k"
    )
    assert user.is_authenticated and user.is_active and not user.is_anonymous and user.get_id() == "k"
    assert user.has_role("admin", "learner") and not user.has_role("admin")
