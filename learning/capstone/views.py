"""The learner's capstone page and the trainers' review pages (under /authoring)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from learning.authoring.blueprint import bp as authoring
from learning.authoring.blueprint import editable_course
from learning.authoring.services import can_edit
from learning.capstone import services
from learning.capstone.forms import PlanForm, ReviewForm, ShareForm
from learning.capstone.models import CapstoneSubmission
from learning.catalog import services as catalog
from learning.catalog.models import Course
from learning.extensions import db
from learning.progress import services as progress
from learning.progress.models import Enrolment
from learning.storage import storage
from learning.uploads import Upload, UploadError, document_type, read_capped

bp = Blueprint("capstone", __name__, template_folder="templates")


def _studying(slug: str) -> tuple[Course, Enrolment, dict[str, Any]]:
    """The course, the learner's active enrolment and its version's capstone; 404 when there is none."""
    course = catalog.course_by_slug(slug)
    if course is None or course.current_version_id is None:
        abort(404)
    enrolment = progress.find_enrolment(current_user, course)
    if enrolment is None or not enrolment.is_active:
        abort(redirect(url_for("catalog.course", slug=slug)))
    capstone = services.capstone_of(enrolment.version_id)
    if capstone is None:
        abort(404)
    return course, enrolment, capstone


def _attachment(form: PlanForm) -> tuple[Upload | None, str | None]:
    """The uploaded attachment, sniffed; UploadError when it is not a PDF or DOCX of at most 10 MB."""
    file = form.attachment.data
    if file is None or not getattr(file, "filename", ""):
        return None, None
    data = read_capped(file.stream, services.MAX_ATTACHMENT_BYTES, _("The attachment is larger than 10 MB."))
    mimetype = document_type(data)
    if mimetype is None:
        raise UploadError(_("Attach a PDF or a Word (DOCX) file; this file is neither."))
    return Upload(data, mimetype, "pdf" if mimetype.endswith("pdf") else "docx"), file.filename


@bp.route("/courses/<slug>/capstone", methods=["GET", "POST"])
def page(slug: str) -> str | Response | tuple[str, int]:
    course, enrolment, capstone = _studying(slug)
    submission = services.submission_of(enrolment)
    form = PlanForm()
    texts = dict(submission.sections) if submission else {}
    error = None
    if form.validate_on_submit():
        texts = {s["slug"]: request.form.get(f"section-{s['slug']}", "") for s in capstone["sections"]}
        try:
            upload, filename = _attachment(form)
            services.save(enrolment, texts, upload, filename, submit=bool(form.submit.data))
        except UploadError as exc:
            error, status = exc.message, exc.status
        except services.CapstoneError as exc:
            error, status = exc.message, 400
        else:
            db.session.commit()
            flash(_("Your plan is submitted.") if form.submit.data else _("Your draft is saved."), "success")
            return redirect(url_for("capstone.page", slug=slug))
        db.session.rollback()
        submission = services.submission_of(enrolment)
    share = ShareForm(data={"shareable": bool(submission and submission.shareable_at)})
    html = render_template(
        "capstone/page.html",
        course=course,
        capstone=capstone,
        submission=submission,
        texts=texts,
        form=form,
        share=share,
        error=error,
    )
    return (html, status) if error else html


@bp.post("/courses/<slug>/capstone/share")
def share(slug: str) -> Response:
    _course, enrolment, _capstone = _studying(slug)
    submission = services.submission_of(enrolment)
    form = ShareForm()
    if submission is None or not form.validate_on_submit():
        abort(400)
    try:
        services.set_shareable(submission, bool(form.shareable.data))
    except services.CapstoneError as exc:
        flash(exc.message, "error")
        return redirect(url_for("capstone.page", slug=slug))
    db.session.commit()
    flash(_("Your choice is saved."), "success")
    return redirect(url_for("capstone.page", slug=slug))


def download(submission: CapstoneSubmission) -> Response:
    """The attachment as a file to save, never to render (RELIABILITY rule 8)."""
    if submission.attachment_key is None:
        abort(404)
    try:
        data = storage().load(submission.attachment_key)
    except FileNotFoundError:
        abort(404)
    response = Response(data, mimetype=submission.attachment_type or "application/octet-stream")
    response.headers["Content-Disposition"] = f'attachment; filename="{submission.attachment_name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'; frame-ancestors 'none'"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/courses/<slug>/capstone/attachment")
def attachment(slug: str) -> Response:
    _course, enrolment, _capstone = _studying(slug)
    submission = services.submission_of(enrolment)
    if submission is None:
        abort(404)
    return download(submission)


# --- trainers -------------------------------------------------------------------------------------------


def _reviewable(submission_id: int) -> tuple[CapstoneSubmission, Course]:
    submission = db.session.get(CapstoneSubmission, submission_id)
    if submission is None:
        abort(404)
    course = submission.enrolment.course
    if not can_edit(current_user, course):
        abort(403)
    return submission, course


@authoring.get("/courses/<slug>/capstone")
def review_list(slug: str) -> str:
    course = editable_course(slug)
    return render_template(
        "capstone/review_list.html", course=course, submissions=services.submissions_for(course)
    )


@authoring.route("/capstone/<int:submission_id>", methods=["GET", "POST"])
def review(submission_id: int) -> str | Response | tuple[str, int]:
    submission, course = _reviewable(submission_id)
    form = ReviewForm()
    error = None
    if form.validate_on_submit():
        try:
            services.review(submission, current_user, bool(form.accept.data), form.comment.data or "")
        except services.CapstoneError as exc:
            error = exc.message
        else:
            db.session.commit()
            flash(_("The plan is accepted.") if form.accept.data else _("The plan is returned."), "success")
            return redirect(url_for("authoring.review_list", slug=course.slug))
    capstone = services.capstone_of(submission.enrolment.version_id) or {"sections": []}
    html = render_template(
        "capstone/review.html",
        course=course,
        capstone=capstone,
        submission=submission,
        learner=submission.enrolment.user,
        form=form,
        error=error,
    )
    return (html, 400) if error else html


@authoring.get("/capstone/<int:submission_id>/attachment")
def review_attachment(submission_id: int) -> Response:
    submission, _course = _reviewable(submission_id)
    return download(submission)
