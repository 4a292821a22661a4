"""Bundles in and out, as pages and through the API."""

from __future__ import annotations

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from learning.api.routing import ApiError, api_route
from learning.api.schemas import BundleReportOut, ProblemOut
from learning.authoring import bundles, services
from learning.authoring.blueprint import bp, editable_course
from learning.authoring.forms import ImportForm
from learning.catalog.models import Course, CourseVersion
from learning.catalog.services import course_by_slug
from learning.extensions import db
from learning.urls import whole_number

MAX_BUNDLE_BYTES = 8 * 1024 * 1024


def _version(course: Course, number: int | None) -> CourseVersion:
    query = select(CourseVersion).where(CourseVersion.course_id == course.id)
    if number is None:
        if course.current_version is None:
            abort(404)
        return course.current_version
    version = db.session.scalar(query.where(CourseVersion.number == number))
    if version is None:
        abort(404)
    return version


def _zip(course: Course, version: CourseVersion) -> Response:
    state = "draft" if version.is_draft else f"v{version.number}"
    response = Response(bundles.export_bundle(course, version), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{course.slug}-{state}.zip"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/courses/<slug>/versions/<int:number>/bundle")
def export(slug: str, number: int) -> Response:
    course = editable_course(slug)
    version = _version(course, number)
    services.audit.record(
        "bundle.export", actor_id=current_user.id, course_id=course.id, subject=slug, version=version.number
    )
    db.session.commit()
    return _zip(course, version)


def _upload() -> bytes | None:
    file = request.files.get("bundle")
    if file is None:
        return None
    data = file.read(MAX_BUNDLE_BYTES + 1)
    return data


@bp.route("/import", methods=["GET", "POST"])
def import_bundle() -> str | BaseResponse | tuple[str, int]:
    form = ImportForm()
    report = None
    if form.validate_on_submit():
        data = _upload() or b""
        if len(data) > MAX_BUNDLE_BYTES:
            form.bundle.errors.append(_("The bundle is larger than 8 MB."))
            return render_template("authoring/import.html", form=form, report=None), 413
        report = bundles.read_bundle(data, form.bundle.data.filename or "bundle.zip")
        if report.ok:
            try:
                course, _version, created = bundles.import_bundle(report, current_user)
            except PermissionError:
                db.session.rollback()
                flash(
                    _("That course exists and you are not one of its authors; nothing was imported."), "error"
                )
                return render_template("authoring/import.html", form=form, report=None), 403
            db.session.commit()
            flash(
                _("Imported as a new course: check the draft and publish it.")
                if created
                else _("Imported as the course's new draft: check it and publish it."),
                "success",
            )
            return redirect(url_for("authoring.course", slug=course.slug))
        return render_template("authoring/import.html", form=form, report=report), 422
    return render_template("authoring/import.html", form=form, report=report)


# --- API ------------------------------------------------------------------------------------------------


def _api_course(slug: str) -> Course:
    course = course_by_slug(slug)
    if course is None:
        raise ApiError(404, "not_found", "No such course.")
    if not services.can_edit(g.api_user, course):
        raise ApiError(403, "forbidden", "You are not an author of this course.")
    return course


@api_route(
    "/authoring/courses/<slug>/bundle",
    "GET",
    summary="Export a course version as a bundle (zip)",
    response_media="application/zip",
    errors=(400, 401, 403, 404),
    query={"version": "integer"},
)
def api_export(slug: str) -> Response:
    course = _api_course(slug)
    asked = request.args.get("version")
    number = whole_number(asked) if asked is not None else None
    if asked is not None and number is None:
        raise ApiError(400, "bad_request", "version must be a whole number.")
    current = CourseVersion.id == course.current_version_id
    which = CourseVersion.number == number if number is not None else current
    version = db.session.scalar(select(CourseVersion).where(CourseVersion.course_id == course.id, which))
    if version is None:
        raise ApiError(404, "not_found", "No such version.")
    services.audit.record(
        "bundle.export", actor_id=g.api_user.id, course_id=course.id, subject=slug, version=version.number
    )
    db.session.commit()
    return _zip(course, version)


@api_route(
    "/authoring/bundles",
    "POST",
    summary="Import a bundle (multipart field 'bundle'); answers the report",
    response=BundleReportOut,
    status=201,
    multipart=("bundle",),
    other_responses={422: BundleReportOut},
    roles=("trainer", "admin"),
    errors=(400, 401, 403, 413, 415, 422),
)
def api_import() -> tuple[BundleReportOut, int]:
    data = _upload()
    if data is None:
        raise ApiError(400, "bad_request", "Send the bundle as the multipart field 'bundle'.")
    if len(data) > MAX_BUNDLE_BYTES:
        raise ApiError(413, "payload_too_large", "The bundle is larger than 8 MB.")
    report = bundles.read_bundle(data, request.files["bundle"].filename or "bundle.zip")
    problems = [ProblemOut(file=p.file, line=p.line, message=p.message) for p in report.problems]
    if not report.ok:
        return BundleReportOut(
            ok=False, course=report.slug, created=False, draft_version=None, problems=problems
        ), 422
    try:
        course, version, created = bundles.import_bundle(report, g.api_user)
    except PermissionError:
        raise ApiError(403, "forbidden", "That course exists and you are not one of its authors.") from None
    db.session.commit()
    return BundleReportOut(
        ok=True, course=course.slug, created=created, draft_version=version.number, problems=[]
    ), 201
