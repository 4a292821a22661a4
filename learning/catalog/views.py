"""The catalogue and the course page."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user

from learning.capstone import services as capstone
from learning.catalog import services
from learning.progress import services as progress
from learning.transactions import reads_without_transaction

bp = Blueprint("catalog", __name__, template_folder="templates")


@bp.get("/")
@reads_without_transaction
def index() -> str:
    courses = services.published_courses()
    enrolments = {}
    if current_user.is_authenticated:
        enrolments = {e.course_id: e for e in progress.enrolments_of(current_user)}
    return render_template("catalog/index.html", courses=courses, enrolments=enrolments)


@bp.get("/courses/<slug>")
@reads_without_transaction
def course(slug: str) -> str:
    course = services.course_by_slug(slug)
    if course is None or course.current_version_id is None:
        abort(404)
    enrolment = progress.find_enrolment(current_user, course) if current_user.is_authenticated else None
    if course.is_archived and enrolment is None:
        abort(404)
    # Learners see the version they study; everyone else the current one.
    version_id = enrolment.version_id if enrolment else course.current_version_id
    version = services.version_with_content(version_id)
    if version is None:
        abort(404)
    state = progress.progress_for(enrolment, version_id)
    out = progress.outline(version_id)
    next_slug = state.next_lesson(out) if enrolment else None
    plan = None
    if version.capstone and enrolment is not None and enrolment.is_active:
        plan = capstone.submission_of(enrolment)
    return render_template(
        "catalog/course.html",
        course=course,
        version=version,
        enrolment=enrolment,
        state=state,
        next_lesson=next_slug,
        plan=plan,
    )
