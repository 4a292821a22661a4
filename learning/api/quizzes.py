"""Quizzes and attempts."""

from __future__ import annotations

from flask import g

from learning.api.routing import ApiError, api_route
from learning.api.schemas import (
    AttemptIn,
    AttemptOut,
    ChoiceOut,
    NeighbourOut,
    QuestionOut,
    QuestionResultOut,
    QuizOut,
)
from learning.catalog.models import Course
from learning.extensions import db
from learning.progress import services as progress
from learning.progress.models import Enrolment
from learning.quizzes import services
from learning.quizzes.models import Quiz, QuizAttempt
from learning.urls import whole_number


def quiz_for_learner(quiz_id: int) -> tuple[Quiz, Enrolment]:
    quiz = services.load_quiz(quiz_id)
    if quiz is None:
        raise ApiError(404, "not_found", "No such quiz.")
    course = db.session.get(Course, quiz.module.version.course_id)
    assert course is not None
    try:
        enrolment = progress.active_enrolment(g.api_user, course)
    except progress.ProgressError as exc:
        raise ApiError(403, exc.code, exc.message) from None
    return quiz, enrolment


def parse_answers(raw: dict[str, list[int]]) -> dict[int, list[int]]:
    answers = {}
    for key, chosen in raw.items():
        question_id = whole_number(key)
        if question_id is None:
            raise ApiError(
                422, "invalid_answers", "Answers are keyed by question id.", {key: "not a question id"}
            )
        answers[question_id] = chosen
    return answers


def attempt_out(attempt: QuizAttempt, grade: services.Grade) -> AttemptOut:
    return AttemptOut(
        id=attempt.id,
        score=grade.score,
        pass_mark=grade.quiz.pass_mark,
        passed=grade.passed,
        submitted_at=attempt.submitted_at,
        questions=[
            QuestionResultOut(
                question_id=r.question.id,
                correct=r.correct,
                chosen=r.chosen,
                correct_choices=r.correct_choices,
                explanation=r.question.explanation_html,
                source=r.question.source_key,
            )
            for r in grade.results
        ],
    )


@api_route(
    "/quizzes/<int:quiz_id>",
    "GET",
    summary="A quiz's questions (never which choices are correct)",
    response=QuizOut,
    errors=(401, 403, 404),
)
def get_quiz(quiz_id: int) -> QuizOut:
    quiz, _enrolment = quiz_for_learner(quiz_id)
    return QuizOut(
        id=quiz.id,
        title=quiz.title,
        pass_mark=quiz.pass_mark,
        module=NeighbourOut(slug=quiz.module.slug, title=quiz.module.title),
        questions=[
            QuestionOut(
                id=q.id,
                type=q.type,  # type: ignore[arg-type]  # a check constraint keeps it to the three types
                text=q.text,
                choices=[ChoiceOut(id=c.id, text=c.text) for c in q.choices],
            )
            for q in quiz.questions
        ],
    )


def submit(enrolment: Enrolment, quiz: Quiz, raw: dict[str, list[int]], at: object = None) -> AttemptOut:
    """Grade and record an attempt (shared by the attempts endpoint and offline sync). Flushes."""
    try:
        attempt, grade = services.submit_attempt(enrolment, quiz, parse_answers(raw), at)  # type: ignore[arg-type]
    except services.AnswerError as exc:
        raise ApiError(422, exc.code, exc.message, exc.fields) from None
    except progress.ProgressError as exc:
        raise ApiError(409, exc.code, exc.message) from None
    return attempt_out(attempt, grade)


@api_route(
    "/quizzes/<int:quiz_id>/attempts",
    "POST",
    summary="Submit answers; answers the score and feedback",
    body=AttemptIn,
    response=AttemptOut,
    status=201,
    errors=(400, 401, 403, 404, 409, 415, 422),
)
def post_attempt(quiz_id: int, body: AttemptIn) -> AttemptOut:
    quiz, enrolment = quiz_for_learner(quiz_id)
    result = submit(enrolment, quiz, body.answers)
    db.session.commit()
    return result
