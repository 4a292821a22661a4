"""Bad input to the API gets a JSON error with the right status, and changes nothing."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from learning.auth.models import User
from learning.extensions import db
from tests.auth.registration import confirm
from tests.fixtures.api import ApiClient

GOOD = {
    "email": "officer@port.gov.ph",
    "password": "a long enough passphrase",
    "name": "Maria Santos",
    "country": "PH",
    "organisation": "Philippine Ports Authority",
    "organisation_type": "port_authority",
    "job_title": "Engineer",
    "language": "en",
    "timezone": "Asia/Manila",
    "consent_share_progress": False,
}


def users() -> int:
    return db.session.scalar(select(func.count()).select_from(User)) or 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"country": "XX"}, "country"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"organisation_type": "navy"}, "organisation_type"),
        ({"language": "xx"}, "language"),
        ({"password": "short"}, "password"),
        ({"password": "password123"}, "password"),
        ({"name": "Evil\\r\\nInjected: header"}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"consent_share_progress": "perhaps"}, "consent_share_progress"),
    ],
)
def test_registration_refuses_bad_fields(api: ApiClient, change: dict, field: str) -> None:
    before = users()
    body = {**GOOD, **change}
    if field == "name" and "Injected" in str(change.get("name")):
        body["name"] = "Evil\r\nInjected: header"
    response = api.post("/api/v1/auth/register", json=body)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed" and field in error["fields"]
    assert users() == before


def test_registration_answers_alike_for_a_taken_address(api: ApiClient, mailbox) -> None:
    """202 and the same body whether or not the address has an account (whatever its case); the e-mail
    to the address says which."""
    first = api.post("/api/v1/auth/register", json=GOOD)
    assert first.status_code == 202
    confirm(api.client.application.test_client(), mailbox, GOOD["email"])
    assert users() == 1
    again = api.post("/api/v1/auth/register", json={**GOOD, "email": "OFFICER@port.gov.ph"})
    assert (again.status_code, again.get_json()) == (first.status_code, first.get_json())
    assert users() == 1
    assert mailbox.to(GOOD["email"])[-1]["Subject"] == "You already have a Smart Port Academy account"


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        ("{not json", "application/json", 400),
        ("[1, 2]", "application/json", 400),
        ('"text"', "application/json", 400),
        ("email=a", "application/x-www-form-urlencoded", 415),
    ],
)
def test_malformed_bodies(api: ApiClient, data: str, content_type: str, status: int) -> None:
    response = api.post("/api/v1/auth/register", data=data, content_type=content_type)
    assert response.status_code == status
    assert set(response.get_json()["error"]) == {"code", "message", "fields"}


def test_missing_wrong_and_expired_tokens(api: ApiClient, create_user, api_token, app) -> None:
    assert api.get("/api/v1/me").status_code == 401
    assert api.get("/api/v1/me", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert api.get("/api/v1/me", headers={"Authorization": "Basic abc"}).status_code == 401
    assert api.get("/api/v1/me", headers={"Authorization": "Bearer " + "x" * 5000}).status_code == 401
    user = create_user()
    headers = api_token(user)
    assert api.get("/api/v1/me", headers=headers).status_code == 200
    from learning.auth.models import ApiToken
    from learning.db import utcnow

    for token in db.session.scalars(select(ApiToken)):
        token.expires_at = utcnow()
    db.session.commit()
    assert api.get("/api/v1/me", headers=headers).status_code == 401


def test_wrong_password_and_unknown_account_look_the_same(api: ApiClient, create_user) -> None:
    user = create_user()
    wrong = api.post("/api/v1/auth/tokens", json={"email": user.email, "password": "not the password"})
    unknown = api.post(
        "/api/v1/auth/tokens", json={"email": "nobody@example.org", "password": "not the password"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()


def test_not_found_and_not_enrolled(api: ApiClient, create_user, api_token) -> None:
    headers = api_token(create_user())
    assert api.get("/api/v1/courses/no-such-course", headers=headers).status_code == 404
    assert api.put("/api/v1/courses/no-such-course/enrolment", headers=headers).status_code == 404
    assert api.delete("/api/v1/courses/harbour-basics/enrolment", headers=headers).status_code == 404
    response = api.get("/api/v1/courses/harbour-basics/lessons/first-a", headers=headers)
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "not_enrolled"
    assert api.get("/api/v1/quizzes/999999", headers=headers).status_code == 404
    assert (
        api.put("/api/v1/courses/harbour-basics/lessons/first-a/completion", headers=headers).status_code
        == 403
    )


def test_an_address_with_control_characters_gets_no_token_and_no_500(api: ApiClient, create_user) -> None:
    """A NUL in the address of POST /auth/tokens reached PostgreSQL and answered 500 (the API fuzzer at
    10,000 calls); now it is refused as the field's error, like any malformed field."""
    create_user(email="ana@example.org")
    for email in ("ana\x00@example.org", "ana@example.org\x00", "ana@exa\rmple.org"):
        response = api.post("/api/v1/auth/tokens", json={"email": email, "password": "x"})
        assert response.status_code == 422, email
        assert response.get_json()["error"]["fields"].keys() == {"email"}


def test_a_sync_event_for_a_course_no_slug_can_name_is_rejected_alone(
    api: ApiClient, create_user, api_token, enrol
) -> None:
    """A NUL or a line break in an offline event's course reached PostgreSQL and answered 500 for the whole
    batch (found by the API fuzzer at 10,000 calls): such an event is now rejected like an unknown course,
    and the good events of the batch apply."""
    from learning.progress.models import LessonCompletion

    user = create_user()
    enrol(user)
    headers = api_token(user)

    def event(course: str, lesson: str = "first-a") -> dict:
        return {"id": str(uuid.uuid4()), "type": "lesson_completed", "course": course, "lesson": lesson,
                "occurred_at": "2026-11-20T08:00:00+07:00"}  # fmt: skip

    events = [event("harbour\x00basics"), event("harbour-basics\n"), event("harbour-basics", "first\x00a"),
              event("harbour-basics")]  # fmt: skip
    response = api.post("/api/v1/me/progress/sync", headers=headers, json={"events": events})
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert [r["status"] for r in results] == ["rejected", "rejected", "rejected", "applied"]
    assert [r.get("error") for r in results[:3]] == ["not_found", "not_found", "unknown_lesson"]
    assert db.session.scalar(select(func.count()).select_from(LessonCompletion)) == 1


def test_bad_answers_are_refused_without_an_attempt(api: ApiClient, create_user, api_token, enrol) -> None:
    from learning.quizzes.models import Quiz, QuizAttempt

    user = create_user()
    enrol(user)
    headers = api_token(user)
    quiz = db.session.scalars(select(Quiz)).first()
    other = db.session.scalars(select(Quiz)).all()[1]
    single = next(q for q in quiz.questions if q.type == "single")
    bad_bodies = [
        {"answers": {"abc": [1]}},
        {"answers": {str(other.questions[0].id): [other.questions[0].choices[0].id]}},
        {"answers": {str(single.id): [c.id for c in single.choices[:2]]}},
        {"answers": {str(single.id): [single.choices[0].id, single.choices[0].id]}},
        {"answers": {str(single.id): [other.questions[0].choices[0].id]}},
        {"answers": {str(single.id): "a"}},
        {"answers": []},
        {"answers": {"²": [1]}},  # a digit to str.isdigit, refused by int: it was a 500
        {"answers": {"9" * 5000: [1]}},
    ]
    for body in bad_bodies:
        response = api.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=headers, json=body)
        assert response.status_code == 422, body
    assert db.session.scalar(select(func.count()).select_from(QuizAttempt)) == 0


def test_unknown_api_route_and_method(api: ApiClient, client) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    response = client.patch("/api/v1/courses")
    assert response.status_code == 405 and response.is_json


def test_too_large_a_body_gets_413(app, client) -> None:
    response = client.post(
        "/api/v1/auth/register",
        data=b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1),
        content_type="application/json",
    )
    assert response.status_code == 413 and response.is_json
