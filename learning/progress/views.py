"""The learner's pages: dashboard, enrolment, lessons and marking them complete."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from learning.auth import login
from learning.catalog import services as catalog
from learning.catalog.models import Course
from learning.certificates import services as certificate_services
from learning.extensions import db
from learning.progress import services
from learning.progress.forms import CompleteLessonForm, EnrolForm, LeaveForm
from learning.progress.fragments import lesson_page
from learning.progress.lesson_access import lesson_access
from learning.progress.models import Enrolment
from learning.transactions import reads_without_transaction

bp = Blueprint("progress", __name__, template_folder="templates")


def _course_or_404(slug: str) -> Course:
    course = catalog.course_by_slug(slug)
    if course is None or course.current_version_id is None:
        abort(404)
    return course


def _studying(course: Course) -> Enrolment:
    """The learner's active enrolment, or send them to the course page to enrol."""
    enrolment = services.find_enrolment(current_user, course)
    if enrolment is None or not enrolment.is_active:
        abort(redirect(url_for("catalog.course", slug=course.slug)))
    return enrolment


@bp.get("/dashboard")
@reads_without_transaction
def dashboard() -> str:
    enrolments = services.enrolments_of(current_user)
    done = services.completed_lessons_of(enrolments)
    rows = []
    for enrolment in enrolments:
        out = services.outline(enrolment.version_id)
        next_slug = next((s for s in out.lesson_slugs if s not in done[enrolment.id]), None)
        rows.append((enrolment, out, next_slug))
    certificates = certificate_services.certificates_of(current_user)
    return render_template("progress/dashboard.html", rows=rows, certificates=certificates)


@bp.post("/courses/<slug>/enrolment")
def enrol(slug: str) -> Response:
    course = _course_or_404(slug)
    if not EnrolForm().validate_on_submit():
        abort(400)
    try:
        services.enrol(current_user, course)
    except services.ProgressError as exc:
        flash(exc.message, "error")
        return redirect(url_for("catalog.course", slug=slug))
    db.session.commit()
    flash(_("You are enrolled. Start with the first lesson when you are ready."), "success")
    return redirect(url_for("catalog.course", slug=slug))


@bp.post("/courses/<slug>/leave")
def leave(slug: str) -> Response:
    course = _course_or_404(slug)
    if not LeaveForm().validate_on_submit():
        abort(400)
    enrolment = services.find_enrolment(current_user, course)
    if enrolment is not None:
        services.leave(enrolment)
        db.session.commit()
    flash(_("You have left the course. Your progress is kept if you come back."), "info")
    return redirect(url_for("catalog.course", slug=slug))


@bp.get("/courses/<slug>/continue")
def continue_course(slug: str) -> Response:
    course = _course_or_404(slug)
    enrolment = _studying(course)
    state = services.progress_for(enrolment, enrolment.version_id)
    next_slug = state.next_lesson(services.outline(enrolment.version_id))
    if next_slug is None:
        return redirect(url_for("catalog.course", slug=slug))
    return redirect(url_for("progress.lesson", slug=slug, lesson_slug=next_slug))


@bp.get("/courses/<slug>/lessons/<lesson_slug>")
@reads_without_transaction
def lesson(slug: str, lesson_slug: str) -> str | Response:
    # Signed-in learners only, as with login_required, but the web session is checked in the same statement
    # that reads the learner's access to the lesson.
    key = login.session_key()
    found = lesson_access("session", key, slug, lesson_slug) if key else None
    if found is None:
        return login.unauthorized()
    user, access = found
    login.use_user(user)
    if not access.published:
        abort(404)
    if access.version_id is None:
        abort(redirect(url_for("catalog.course", slug=slug)))
    lesson = catalog.lesson_in_version(access.version_id, lesson_slug)
    if lesson is None:
        abort(404)
    return lesson_page(slug, access.version_id, access.version_title, lesson, access.completed_at)


@bp.post("/courses/<slug>/lessons/<lesson_slug>/complete")
def complete_lesson(slug: str, lesson_slug: str) -> Response:
    course = _course_or_404(slug)
    if not CompleteLessonForm().validate_on_submit():
        abort(400)
    enrolment = _studying(course)
    try:
        services.complete_lesson(enrolment, lesson_slug)
    except services.ProgressError:
        abort(404)
    db.session.commit()
    out = services.outline(enrolment.version_id)
    module = out.module_of(lesson_slug)
    _before, next_slug = out.neighbours(lesson_slug)
    if module.lesson_slugs[-1] == lesson_slug and module.quiz_id is not None:
        return redirect(url_for("quizzes.take", quiz_id=module.quiz_id))
    if next_slug is None:
        return redirect(url_for("catalog.course", slug=slug))
    return redirect(url_for("progress.lesson", slug=slug, lesson_slug=next_slug))
