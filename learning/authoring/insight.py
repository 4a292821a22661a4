"""Insight for trainers: per question, how many answered, the share correct, the most chosen wrong answer."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from flask import abort, render_template
from sqlalchemy import select

from learning.authoring.blueprint import bp, editable_course
from learning.catalog.models import Module
from learning.extensions import db
from learning.quizzes.models import Question, QuizAttempt


@dataclass
class QuestionInsight:
    question: Question
    answered: int = 0
    correct: int = 0
    wrong_picks: Counter[int] = field(default_factory=Counter)

    @property
    def share_correct(self) -> float | None:
        return self.correct / self.answered if self.answered else None

    @property
    def most_chosen_wrong(self) -> tuple[str, int] | None:
        if not self.wrong_picks:
            return None
        position, count = self.wrong_picks.most_common(1)[0]
        text = next((c.text for c in self.question.choices if c.position == position), "?")
        return text, count


def insight_for(version_id: int) -> list[tuple[Module, list[QuestionInsight]]]:
    """Aggregate every attempt at the version's quizzes, reading the attempts in one streamed query."""
    modules = list(
        db.session.scalars(select(Module).where(Module.version_id == version_id).order_by(Module.position))
    )
    by_quiz: dict[int, dict[str, QuestionInsight]] = {}
    for module in modules:
        if module.quiz is not None:
            by_quiz[module.quiz.id] = {q.slug: QuestionInsight(q) for q in module.quiz.questions}
    rows = db.session.execute(
        select(QuizAttempt.quiz_id, QuizAttempt.answers, QuizAttempt.results)
        .where(QuizAttempt.quiz_id.in_(list(by_quiz)))
        .execution_options(yield_per=2000)
    )
    for quiz_id, answers, results in rows:
        stats = by_quiz[quiz_id]
        correct = {row["question"]: row["correct"] for row in results}
        for slug, positions in answers.items():
            item = stats.get(slug)
            if item is None or not positions:
                continue
            item.answered += 1
            if correct.get(slug):
                item.correct += 1
            else:
                right = {c.position for c in item.question.choices if c.is_correct}
                item.wrong_picks.update(p for p in positions if p not in right)
    return [(m, list(by_quiz[m.quiz.id].values())) for m in modules if m.quiz is not None]


@bp.get("/courses/<slug>/insight")
def insight(slug: str) -> str:
    course = editable_course(slug)
    if course.current_version_id is None:
        abort(404)
    return render_template(
        "authoring/insight.html", course=course, modules=insight_for(course.current_version_id)
    )
