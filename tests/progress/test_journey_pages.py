"""The learner's whole journey through the pages: register, enrol, read, quiz, leave, come back."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import select

from learning.extensions import db
from learning.progress.models import Enrolment
from learning.quizzes.models import Quiz
from tests.auth.registration import register_and_confirm
from tests.conftest import csrf_from, post_form

REGISTRATION = {
    "email": "Somchai.K@Marine.go.th",
    "password": "a long passphrase for the port",
    "confirm": "a long passphrase for the port",
    "full_name": "สมชาย ใจดี",
    "country": "TH",
    "organisation": "Marine Department",
    "organisation_type": "maritime_administration",
    "job_title": "Port State Control Officer",
    "language": "th",
    "timezone": "Asia/Bangkok",
    "consent_share_progress": "y",
}


def answer_all(client: FlaskClient, quiz: Quiz, right: bool = True) -> str:
    page = client.get(f"/quizzes/{quiz.id}").get_data(as_text=True)
    data: dict[str, object] = {"csrf_token": csrf_from(page)}
    for question in quiz.questions:
        picks = [c.id for c in question.choices if c.is_correct == right]
        data[f"q{question.id}"] = [str(p) for p in (picks if question.type == "multiple" else picks[:1])]
    response = client.post(f"/quizzes/{quiz.id}", data=data)
    assert response.status_code == 302
    return response.headers["Location"]


def test_official_takes_a_course_end_to_end(client: FlaskClient, mailbox) -> None:
    response = register_and_confirm(client, mailbox, REGISTRATION)
    assert response.status_code == 302
    catalogue = client.get("/").get_data(as_text=True)
    assert "Harbour basics" in catalogue

    course_page = client.get("/courses/harbour-basics").get_data(as_text=True)
    assert "Enrol in this course" in course_page
    response = post_form(client, "/courses/harbour-basics", {}, "/courses/harbour-basics/enrolment")
    assert response.status_code == 302
    course_page = client.get("/courses/harbour-basics").get_data(as_text=True)
    assert "Start the first lesson" in course_page

    # continue goes to the first lesson
    response = client.get("/courses/harbour-basics/continue")
    assert response.headers["Location"].endswith("/courses/harbour-basics/lessons/first-a")
    lesson = client.get("/courses/harbour-basics/lessons/first-a")
    html = lesson.get_data(as_text=True)
    assert lesson.status_code == 200
    assert 'href="/courses/harbour-basics/lessons/first-b"' in html
    assert 'href="#ref-S18"' in html and 'id="ref-S18"' in html
    assert 'rel="next"' in html and 'rel="prev"' not in html

    response = post_form(
        client,
        "/courses/harbour-basics/lessons/first-a",
        {},
        "/courses/harbour-basics/lessons/first-a/complete",
    )
    assert response.headers["Location"].endswith("/lessons/first-b")
    response = post_form(
        client,
        "/courses/harbour-basics/lessons/first-b",
        {},
        "/courses/harbour-basics/lessons/first-b/complete",
    )
    quiz_url = response.headers["Location"]
    assert re.search(r"/quizzes/\d+$", quiz_url)
    quiz = db.session.get(Quiz, int(quiz_url.rsplit("/", 1)[1]))
    assert quiz is not None

    # a wrong attempt first: feedback with explanations, not passed
    result_url = answer_all(client, quiz, right=False)
    result = client.get(result_url).get_data(as_text=True)
    assert (
        "Not passed yet" in result and "The right date is right." in result and "(correct answer)" in result
    )
    result_url = answer_all(client, quiz, right=True)
    result = client.get(result_url).get_data(as_text=True)
    assert "You passed this quiz." in result and "100%" in result

    enrolment = db.session.scalar(select(Enrolment))
    assert enrolment is not None and enrolment.percent == 50 and enrolment.completed_at is None

    # leave and come back: progress is kept, and "continue" resumes at the next lesson
    post_form(client, "/courses/harbour-basics", {}, "/courses/harbour-basics/leave")
    assert client.get("/courses/harbour-basics/lessons/second-a").status_code == 302
    post_form(client, "/courses/harbour-basics", {}, "/courses/harbour-basics/enrolment")
    response = client.get("/courses/harbour-basics/continue")
    assert response.headers["Location"].endswith("/lessons/second-a")
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "50%" in dashboard and "Continue: Second lesson A" in dashboard


def test_a_quiz_with_unanswered_questions_is_shown_again(
    client: FlaskClient, create_user, login, enrol
) -> None:
    user = create_user()
    enrol(user)
    login(client, user)
    quiz = db.session.scalars(select(Quiz)).first()
    page = client.get(f"/quizzes/{quiz.id}").get_data(as_text=True)
    response = client.post(f"/quizzes/{quiz.id}", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 422
    assert "Answer this question." in response.get_data(as_text=True)
