"""The learner's journey through the JSON API, every answer checked against the OpenAPI document."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from learning.extensions import db
from learning.progress.models import Enrolment, LessonCompletion
from learning.quizzes.models import QuizAttempt
from tests.auth.registration import confirm
from tests.fixtures.api import ApiClient
from tests.fixtures.smtp import Inbox

REGISTRATION = {
    "email": "nguyen.van.a@vinamarine.gov.vn",
    "password": "cảng biển thông minh 2024",
    "name": "Nguyễn Văn Ấn",
    "country": "VN",
    "organisation": "Viet Nam Maritime Administration",
    "organisation_type": "maritime_administration",
    "job_title": "Deputy Director",
    "language": "vi",
    "timezone": "Asia/Ho_Chi_Minh",
    "consent_share_progress": True,
}


def register_and_token(api: ApiClient, mailbox: Inbox) -> dict[str, str]:
    response = api.post("/api/v1/auth/register", json=REGISTRATION)
    assert response.status_code == 202
    assert response.get_json()["email"] == REGISTRATION["email"]
    # the learner opens the e-mailed link in a browser, which makes the account
    assert confirm(api.client.application.test_client(), mailbox, REGISTRATION["email"]).status_code == 302
    response = api.post(
        "/api/v1/auth/tokens",
        json={"email": "Nguyen.Van.A@VinaMarine.gov.vn", "password": REGISTRATION["password"]},
    )
    assert response.status_code == 201
    auth = {"Authorization": f"Bearer {response.get_json()['token']}"}
    me = api.get("/api/v1/me", headers=auth).get_json()
    assert me["name"] == "Nguyễn Văn Ấn" and me["email"] == REGISTRATION["email"]
    assert me["consent_share_progress"] is True and me["roles"] == ["learner"]
    return auth


def right_answers(quiz: dict) -> dict[str, list[int]]:
    """The correct answers, found the way a cheating client could not: from the database."""
    from learning.quizzes.models import Question

    answers = {}
    for question in quiz["questions"]:
        row = db.session.get(Question, question["id"])
        answers[str(question["id"])] = [c.id for c in row.choices if c.is_correct]
    return answers


def test_journey_through_the_api(api: ApiClient, mailbox: Inbox) -> None:
    auth = register_and_token(api, mailbox)
    courses = api.get("/api/v1/courses", headers=auth).get_json()["items"]
    assert [c["slug"] for c in courses] == ["harbour-basics"] and courses[0]["enrolment"] is None

    assert api.put("/api/v1/courses/harbour-basics/enrolment", headers=auth).status_code == 201
    again = api.put("/api/v1/courses/harbour-basics/enrolment", headers=auth)
    assert again.status_code == 200 and again.get_json()["status"] == "active"

    course = api.get("/api/v1/courses/harbour-basics", headers=auth).get_json()
    assert [m["slug"] for m in course["modules"]] == ["first-steps", "second-steps"]
    assert course["next_lesson"] == "first-a"
    first_module = course["modules"][0]
    assert [lesson["status"] for lesson in first_module["lessons"]] == ["not_started", "not_started"]

    lesson = api.get("/api/v1/courses/harbour-basics/lessons/first-a", headers=auth).get_json()
    assert lesson["previous"] is None and lesson["next"]["slug"] == "first-b"
    assert "ports exchange data electronically" in lesson["html"]

    first = api.put("/api/v1/courses/harbour-basics/lessons/first-a/completion", headers=auth).get_json()
    second = api.put("/api/v1/courses/harbour-basics/lessons/first-a/completion", headers=auth).get_json()
    assert first["newly_completed"] is True and second["newly_completed"] is False
    assert first["completed_at"] == second["completed_at"]
    api.put("/api/v1/courses/harbour-basics/lessons/first-b/completion", headers=auth)

    quiz = api.get(f"/api/v1/quizzes/{first_module['quiz']['id']}", headers=auth).get_json()
    assert all("correct" not in str(q["choices"]) for q in quiz["questions"])
    wrong = api.post(f"/api/v1/quizzes/{quiz['id']}/attempts", headers=auth, json={"answers": {}}).get_json()
    assert wrong["score"] == 0 and wrong["passed"] is False
    assert all(q["explanation"] and q["correct_choices"] for q in wrong["questions"])
    passed = api.post(
        f"/api/v1/quizzes/{quiz['id']}/attempts", headers=auth, json={"answers": right_answers(quiz)}
    ).get_json()
    assert passed["score"] == 100 and passed["passed"] is True

    progress = api.get("/api/v1/me/progress", headers=auth).get_json()["courses"][0]
    assert progress["percent"] == 50 and progress["next_lesson"] == "second-a"
    assert progress["modules"][0]["percent"] == 100 and progress["modules"][0]["completed_at"]
    assert progress["modules"][1]["percent"] == 0

    # the second module offline: events sent twice apply once
    second_module = course["modules"][1]
    quiz2 = api.get(f"/api/v1/quizzes/{second_module['quiz']['id']}", headers=auth).get_json()
    events = [
        {
            "id": str(uuid.uuid4()),
            "type": "lesson_completed",
            "course": "harbour-basics",
            "lesson": "second-a",
            "occurred_at": "2026-11-20T08:00:00+07:00",
        },
        {
            "id": str(uuid.uuid4()),
            "type": "lesson_completed",
            "course": "harbour-basics",
            "lesson": "second-b",
            "occurred_at": "2026-11-20T08:30:00+07:00",
        },
        {
            "id": str(uuid.uuid4()),
            "type": "quiz_attempt",
            "quiz": quiz2["id"],
            "answers": right_answers(quiz2),
            "occurred_at": "2026-11-20T09:00:00+07:00",
        },
        {
            "id": str(uuid.uuid4()),
            "type": "lesson_completed",
            "course": "harbour-basics",
            "lesson": "no-such-lesson",
            "occurred_at": "2026-11-20T09:00:00+07:00",
        },
    ]
    first_sync = api.post("/api/v1/me/progress/sync", headers=auth, json={"events": events}).get_json()
    assert [r["status"] for r in first_sync["results"]] == ["applied", "applied", "applied", "rejected"]
    resend = api.post("/api/v1/me/progress/sync", headers=auth, json={"events": events}).get_json()
    assert [r["status"] for r in resend["results"]] == ["duplicate", "duplicate", "duplicate", "rejected"]
    assert resend["results"][2]["result"]["score"] == 100
    assert db.session.scalar(select(func.count()).select_from(QuizAttempt)) == 3
    assert db.session.scalar(select(func.count()).select_from(LessonCompletion)) == 4

    progress = api.get("/api/v1/me/progress", headers=auth).get_json()["courses"][0]
    assert progress["percent"] == 100 and progress["completed_at"] == "2026-11-20T02:00:00Z"
    enrolment = db.session.scalar(select(Enrolment))
    assert enrolment.completed_version_id == enrolment.version_id

    # leave: progress stays; the lesson is closed until the learner comes back
    assert api.delete("/api/v1/courses/harbour-basics/enrolment", headers=auth).status_code == 204
    assert api.get("/api/v1/courses/harbour-basics/lessons/first-a", headers=auth).status_code == 403
    assert api.put("/api/v1/courses/harbour-basics/enrolment", headers=auth).status_code == 201
    assert api.get("/api/v1/me/progress", headers=auth).get_json()["courses"][0]["percent"] == 100

    # revoke the token: it stops working
    assert api.delete("/api/v1/auth/tokens/current", headers=auth).status_code == 204
    assert api.get("/api/v1/me", headers=auth).status_code == 401


def test_openapi_document_describes_every_api_route(app, client) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    documented = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1") or rule.rule == "/api/v1/openapi.json":
            continue
        path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, path) in documented, (method, path)
    assert doc["openapi"].startswith("3.")
