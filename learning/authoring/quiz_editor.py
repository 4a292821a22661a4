"""Editing a draft module's quiz, and trying it as a learner would (nothing is recorded)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from learning.authoring import edits, services
from learning.authoring.blueprint import bp, current_draft, editable_course, move_direction, refused
from learning.authoring.forms import CHOICES, ActionForm, QuestionForm, QuizForm
from learning.catalog.models import Module
from learning.extensions import db
from learning.forms import Form
from learning.quizzes import services as quizzes
from learning.urls import whole_number


def _quiz_page(slug: str, module: str) -> str:
    return url_for("authoring.quiz", slug=slug, module=module)


def _sources(draft: services.Draft, module: str) -> list[str]:
    return list((draft.data(f"{module}/module.yaml").get("references") or {}).keys())


@bp.route("/courses/<slug>/draft/modules/<module>/quiz", methods=["GET", "POST"])
def quiz(slug: str, module: str) -> str | Response:
    course = editable_course(slug)
    draft = current_draft(course)
    if module not in draft.module_slugs():
        abort(404)
    data = edits.quiz_data(draft, module)
    form = QuizForm(data={"title": data.get("title") or "", "pass_mark": data.get("pass_mark") or 70})
    if form.validate_on_submit():
        edits.update_quiz(draft, module, form.title.data or "", int(form.pass_mark.data or 70))
        services.save(draft, current_user, "draft.quiz.edit", module=module)
        db.session.commit()
        flash(_("The quiz settings are saved."), "success")
        return redirect(_quiz_page(slug, module))
    problems = [p for p in services.problems_of(draft) if p.file == f"{slug}/{module}/quiz.yaml"]
    return render_template(
        "authoring/quiz.html",
        course=course,
        module=module,
        form=form,
        questions=[q for q in data["questions"] if isinstance(q, dict)],
        action=ActionForm(),
        problems=problems,
    )


def _question_form_data(question: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "slug": question.get("slug"),
        "type": question.get("type"),
        "text": question.get("text"),
        "explanation": question.get("explanation"),
        "source": question.get("source"),
        "answer": "true" if question.get("answer") is True else "false",
    }
    for n, choice in enumerate(question.get("choices") or [], start=1):
        if n <= CHOICES and isinstance(choice, dict):
            data[f"choice_{n}"] = choice.get("text")
            data[f"correct_{n}"] = choice.get("correct") is True
    return data


@bp.route("/courses/<slug>/draft/modules/<module>/questions/new", methods=["GET", "POST"])
@bp.route("/courses/<slug>/draft/modules/<module>/questions/<question>", methods=["GET", "POST"])
def question(slug: str, module: str, question: str | None = None) -> str | Response:
    course = editable_course(slug)
    draft = current_draft(course)
    if module not in draft.module_slugs():
        abort(404)
    existing = None
    if question is not None:
        try:
            existing = edits.find_question(draft, module, question)
        except services.AuthoringError:
            abort(404)
    sources = _sources(draft, module)
    form = QuestionForm(data=_question_form_data(existing) if existing else None, sources=sources)
    if not sources:
        flash(_("Add the module's references first: every question rests on one of them."), "error")
    if form.validate_on_submit():
        try:
            edits.save_question(draft, module, form.values(), original_slug=question)
        except services.AuthoringError as exc:
            form.slug.errors.append(exc.message)
        else:
            services.save(draft, current_user, "draft.question.save", module=module, question=form.slug.data)
            db.session.commit()
            flash(_("The question is saved."), "success")
            return redirect(_quiz_page(slug, module))
    return render_template(
        "authoring/question.html", course=course, module=module, form=form, question=question
    )


@bp.post("/courses/<slug>/draft/modules/<module>/questions/<question>/move")
def move_question(slug: str, module: str, question: str) -> Response:
    course = editable_course(slug)
    draft = current_draft(course)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        edits.move_question(draft, module, question, move_direction())
    except services.AuthoringError as exc:
        return refused(exc, _quiz_page(slug, module))
    services.save(draft, current_user, "draft.question.move", module=module, question=question)
    db.session.commit()
    return redirect(_quiz_page(slug, module))


@bp.post("/courses/<slug>/draft/modules/<module>/questions/<question>/delete")
def delete_question(slug: str, module: str, question: str) -> Response:
    course = editable_course(slug)
    draft = current_draft(course)
    if not ActionForm().validate_on_submit():
        abort(400)
    edits.delete_question(draft, module, question)
    services.save(draft, current_user, "draft.question.delete", module=module, question=question)
    db.session.commit()
    return redirect(_quiz_page(slug, module))


@bp.route("/courses/<slug>/preview/quizzes/<module>", methods=["GET", "POST"])
def preview_quiz(slug: str, module: str) -> str:
    """The draft's quiz as learners see it; answers are graded and shown, never recorded."""
    course = editable_course(slug)
    draft = current_draft(course)
    row = db.session.scalar(
        select(Module).where(Module.version_id == draft.version.id, Module.slug == module)
    )
    if row is None or row.quiz is None:
        abort(404)
    quiz_row = quizzes.load_quiz(row.quiz.id)
    assert quiz_row is not None
    form = Form()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        answers: dict[int, list[int]] = {}
        for q in quiz_row.questions:
            picked = [n for v in request.form.getlist(f"q{q.id}")[:20] if (n := whole_number(v)) is not None]
            if picked:
                answers[q.id] = picked
        try:
            grade = quizzes.grade(quiz_row, answers)
        except quizzes.AnswerError:
            abort(400)
        return render_template(
            "authoring/quiz_preview_result.html", course=course, quiz=quiz_row, grade=grade
        )
    return render_template(
        "quizzes/take.html",
        quiz=quiz_row,
        form=form,
        state=None,
        answers={},
        unanswered=[],
        course=course,
        preview=True,
    )
