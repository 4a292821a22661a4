"""The authoring blueprint and what its views share: loading a course the user may edit."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from learning.authoring.services import AuthoringError, Draft, can_edit, draft_of
from learning.catalog.models import Course
from learning.catalog.services import course_by_slug

bp = Blueprint("authoring", __name__, url_prefix="/authoring", template_folder="templates")


def editable_course(slug: str) -> Course:
    """The course, if the signed-in user may edit it: 404 when it does not exist, 403 when not theirs."""
    course = course_by_slug(slug)
    if course is None:
        abort(404)
    if not can_edit(current_user, course):
        abort(403)
    return course


def current_draft(course: Course) -> Draft:
    """The course's open draft, or back to the course page with a message."""
    version = draft_of(course)
    if version is None:
        flash(_("Start a draft first: published versions never change."), "error")
        abort(redirect(url_for("authoring.course", slug=course.slug)))
    return Draft(course, version, dict(version.files))


def refused(error: AuthoringError, target: str) -> Response:
    flash(error.message, "error")
    return redirect(target)


def move_direction() -> int:
    """The direction of a move button: -1 (up) or 1 (down); anything else is a bad request."""
    value = request.form.get("direction")
    if value not in ("-1", "1"):
        abort(400)
    return int(value)
