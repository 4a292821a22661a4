"""Quiz pages: the questions, and the result with per-question feedback."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from learning.catalog.models import Course
from learning.extensions import db
from learning.forms import Form
from learning.progress import services as progress
from learning.progress.models import Enrolment
from learning.quizzes import services
from learning.quizzes.models import Quiz, QuizAttempt
from learning.urls import whole_number

bp = Blueprint("quizzes", __name__, template_folder="templates")


def _quiz_for_learner(quiz_id: int) -> tuple[Quiz, Enrolment]:
    quiz = services.load_quiz(quiz_id)
    if quiz is None:
        abort(404)
    course = db.session.get(Course, quiz.module.version.course_id)
    enrolment = progress.find_enrolment(current_user, course) if course else None
    if enrolment is None or not enrolment.is_active or enrolment.version_id != quiz.module.version_id:
        abort(404)
    return quiz, enrolment


def _answers_from_form(quiz: Quiz) -> dict[int, list[int]]:
    answers: dict[int, list[int]] = {}
    for question in quiz.questions:
        values = request.form.getlist(f"q{question.id}")
        chosen = []
        for value in values[:20]:
            choice_id = whole_number(value)
            if choice_id is None:
                abort(400)
            chosen.append(choice_id)
        if chosen:
            answers[question.id] = chosen
    return answers


@bp.route("/quizzes/<int:quiz_id>", methods=["GET", "POST"])
def take(quiz_id: int) -> str | Response | tuple[str, int]:
    quiz, enrolment = _quiz_for_learner(quiz_id)
    form = Form()
    state = progress.progress_for(enrolment, enrolment.version_id).modules[quiz.module.slug]
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        answers = _answers_from_form(quiz)
        unanswered = [q for q in quiz.questions if q.id not in answers]
        if unanswered:
            return render_template(
                "quizzes/take.html",
                quiz=quiz,
                form=form,
                state=state,
                answers=answers,
                unanswered=unanswered,
                course=enrolment.course,
            ), 422
        try:
            attempt, _grade = services.submit_attempt(enrolment, quiz, answers)
        except services.AnswerError:
            abort(400)
        db.session.commit()
        return redirect(url_for("quizzes.result", quiz_id=quiz.id, attempt_id=attempt.id))
    return render_template(
        "quizzes/take.html",
        quiz=quiz,
        form=form,
        state=state,
        answers={},
        unanswered=[],
        course=enrolment.course,
    )


@bp.get("/quizzes/<int:quiz_id>/attempts/<int:attempt_id>")
def result(quiz_id: int, attempt_id: int) -> str:
    quiz, enrolment = _quiz_for_learner(quiz_id)
    attempt = db.session.get(QuizAttempt, attempt_id)
    if attempt is None or attempt.enrolment_id != enrolment.id or attempt.quiz_id != quiz.id:
        abort(404)
    by_slug = {q.slug: q for q in quiz.questions}
    chosen = {
        slug: {c.id for c in by_slug[slug].choices if c.position in positions}
        for slug, positions in attempt.answers.items()
        if slug in by_slug
    }
    correct = {row["question"]: row["correct"] for row in attempt.results}
    out = progress.outline(enrolment.version_id)
    module = next(m for m in out.modules if m.slug == quiz.module.slug)
    _before, next_slug = out.neighbours(module.lesson_slugs[-1]) if module.lesson_slugs else (None, None)
    message = (
        _("You passed this quiz.")
        if attempt.passed
        else _("Not passed yet: review the lessons and try again.")
    )
    return render_template(
        "quizzes/result.html",
        quiz=quiz,
        attempt=attempt,
        chosen=chosen,
        correct=correct,
        course=enrolment.course,
        next_slug=next_slug,
        message=message,
    )
