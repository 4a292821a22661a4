"""Grading quiz attempts and recording them against the learner's module state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from learning.catalog.models import Module
from learning.db import utcnow
from learning.extensions import db
from learning.progress import services as progress
from learning.progress.models import Enrolment
from learning.quizzes.models import Question, Quiz, QuizAttempt


class AnswerError(progress.ProgressError):
    """Answers that do not fit the quiz; ``fields`` says which question is wrong."""

    def __init__(self, message: str, fields: dict[str, str]) -> None:
        super().__init__("invalid_answers", message)
        self.fields = fields


@dataclass
class QuestionResult:
    question: Question
    chosen: list[int]
    correct: bool

    @property
    def correct_choices(self) -> list[int]:
        return [c.id for c in self.question.choices if c.is_correct]


@dataclass
class Grade:
    quiz: Quiz
    score: int
    passed: bool
    results: list[QuestionResult]


def load_quiz(quiz_id: int) -> Quiz | None:
    """Load a quiz with its module, questions and choices in a fixed number of queries."""
    return db.session.scalar(
        select(Quiz)
        .where(Quiz.id == quiz_id)
        .options(
            selectinload(Quiz.questions).selectinload(Question.choices),
            selectinload(Quiz.module).selectinload(Module.version),
        )
    )


def grade(quiz: Quiz, answers: dict[int, list[int]]) -> Grade:
    """Grade ``answers`` ({question id: [choice ids]}); unanswered questions count as wrong."""
    questions = {q.id: q for q in quiz.questions}
    errors: dict[str, str] = {}
    for question_id, chosen in answers.items():
        question = questions.get(question_id)
        if question is None:
            errors[str(question_id)] = "not a question of this quiz"
            continue
        valid = {c.id for c in question.choices}
        if not set(chosen) <= valid:
            errors[str(question_id)] = "a choice that does not belong to this question"
        elif len(set(chosen)) != len(chosen):
            errors[str(question_id)] = "the same choice is given twice"
        elif question.type != "multiple" and len(chosen) > 1:
            errors[str(question_id)] = "only one choice may be picked"
    if errors:
        raise AnswerError(_("Some answers do not fit the quiz."), errors)
    results = []
    for question in quiz.questions:
        chosen = sorted(answers.get(question.id, []))
        correct = bool(chosen) and set(chosen) == {c.id for c in question.choices if c.is_correct}
        results.append(QuestionResult(question, chosen, correct))
    total = len(results)
    score = 100 * sum(r.correct for r in results) // total if total else 0
    return Grade(quiz, score, score >= quiz.pass_mark, results)


def submit_attempt(
    enrolment: Enrolment, quiz: Quiz, answers: dict[int, list[int]], at: datetime | None = None
) -> tuple[QuizAttempt, Grade]:
    """Grade and record an attempt, update the module state and the course completion. Flushes."""
    if quiz.module.version_id != enrolment.version_id:
        raise progress.ProgressError(
            "wrong_version", _("This quiz belongs to another version of the course.")
        )
    result = grade(quiz, answers)
    locked = progress.lock_enrolment(enrolment.id)
    when = progress.clamp_time(at)
    attempt = QuizAttempt(
        enrolment_id=locked.id,
        quiz_id=quiz.id,
        module_slug=quiz.module.slug,
        score=result.score,
        passed=result.passed,
        submitted_at=when,
        created_at=utcnow(),
        answers={
            r.question.slug: [c.position for c in r.question.choices if c.id in r.chosen]
            for r in result.results
        },
        results=[{"question": r.question.slug, "correct": r.correct} for r in result.results],
    )
    db.session.add(attempt)
    progress.record_quiz_result(locked, quiz.module.slug, result.score, result.passed, when)
    db.session.flush()
    progress.recompute(locked, when)
    return attempt, result
