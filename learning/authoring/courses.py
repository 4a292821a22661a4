"""Authoring pages for a course as a whole: list, create, versions, publish, archive, members."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from learning.audit import services as audit
from learning.auth.models import User
from learning.auth.services import find_user
from learning.authoring import services
from learning.authoring.blueprint import bp, current_draft, editable_course, refused
from learning.authoring.edits import update_course
from learning.authoring.forms import ActionForm, CourseForm, MemberForm, NewCourseForm, PublishForm
from learning.catalog.models import CourseMember, CourseVersion
from learning.extensions import db


@bp.get("/")
def index() -> str:
    courses = services.editable_courses(current_user)
    drafts = {course.id: services.draft_of(course) for course in courses}
    return render_template("authoring/index.html", courses=courses, drafts=drafts)


@bp.route("/courses/new", methods=["GET", "POST"])
def new_course() -> str | Response:
    form = NewCourseForm()
    if form.validate_on_submit():
        try:
            course = services.create_course(
                current_user,
                form.slug.data or "",
                form.title.data or "",
                form.summary.data or "",
                form.language.data or "en",
                float(form.hours.data or 1),
            )
        except services.AuthoringError as exc:
            form.slug.errors.append(exc.message)
        else:
            db.session.commit()
            flash(
                _("The course is created as a draft. Add its modules and lessons, then publish it."),
                "success",
            )
            return redirect(url_for("authoring.course", slug=course.slug))
    return render_template("authoring/new_course.html", form=form)


@bp.get("/courses/<slug>")
def course(slug: str) -> str:
    course = editable_course(slug)
    versions = list(
        db.session.scalars(
            select(CourseVersion)
            .where(CourseVersion.course_id == course.id)
            .order_by(CourseVersion.number.desc())
        )
    )
    draft_version = services.draft_of(course)
    draft = services.Draft(course, draft_version, dict(draft_version.files)) if draft_version else None
    problems = services.problems_of(draft) if draft else []
    members = db.session.execute(
        select(CourseMember, User).join(User).where(CourseMember.course_id == course.id)
    ).all()
    return render_template(
        "authoring/course.html",
        course=course,
        versions=versions,
        draft=draft,
        problems=problems,
        members=members,
        publish_form=PublishForm(),
        action=ActionForm(),
        member_form=MemberForm(),
        history=audit.recent(course.id, limit=20),
    )


@bp.post("/courses/<slug>/draft")
def start_draft(slug: str) -> Response:
    course = editable_course(slug)
    if not ActionForm().validate_on_submit():
        abort(400)
    services.open_draft(course, current_user)
    db.session.commit()
    return redirect(url_for("authoring.course", slug=slug))


@bp.post("/courses/<slug>/draft/discard")
def discard_draft(slug: str) -> Response:
    course = editable_course(slug)
    if not ActionForm().validate_on_submit():
        abort(400)
    draft = current_draft(course)
    if course.current_version_id is None:
        return refused(
            services.AuthoringError(_("A course that was never published keeps its draft.")),
            url_for("authoring.course", slug=slug),
        )
    services.discard_draft(draft, current_user)
    db.session.commit()
    flash(_("The draft is discarded."), "info")
    return redirect(url_for("authoring.course", slug=slug))


@bp.route("/courses/<slug>/draft/course", methods=["GET", "POST"])
def edit_course(slug: str) -> str | Response:
    course = editable_course(slug)
    draft = current_draft(course)
    data = draft.data("course.yaml")
    form = CourseForm(data=data)
    if form.validate_on_submit():
        update_course(
            draft,
            title=form.title.data,
            summary=form.summary.data,
            description=form.description.data,
            language=form.language.data,
            hours=float(form.hours.data or 1),
        )
        services.save(draft, current_user, "draft.course")
        db.session.commit()
        flash(_("Saved."), "success")
        return redirect(url_for("authoring.course", slug=slug))
    return render_template("authoring/edit_course.html", course=course, form=form)


@bp.post("/courses/<slug>/publish")
def publish(slug: str) -> str | Response | tuple[str, int]:
    course = editable_course(slug)
    draft = current_draft(course)
    form = PublishForm()
    if not form.validate_on_submit():
        flash(_("Say what changed in this version before publishing it."), "error")
        return redirect(url_for("authoring.course", slug=slug))
    problems = services.publish_draft(draft, current_user, form.change_note.data or "")
    if problems:
        db.session.rollback()
        flash(_("The draft has problems; nothing was published. Fix them first."), "error")
        return redirect(url_for("authoring.course", slug=slug))
    db.session.commit()
    flash(_("Version %(n)s is published.", n=draft.version.number), "success")
    return redirect(url_for("authoring.course", slug=slug))


@bp.post("/courses/<slug>/archive")
def archive(slug: str) -> Response:
    course = editable_course(slug)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    services.set_archived(course, not course.is_archived, current_user)
    db.session.commit()
    flash(_("The course is archived.") if course.is_archived else _("The course is open again."), "info")
    return redirect(url_for("authoring.course", slug=slug))


@bp.post("/courses/<slug>/members")
def members(slug: str) -> Response:
    course = editable_course(slug)
    form = MemberForm()
    if not form.validate_on_submit():
        abort(400)
    user = find_user(form.email.data or "")
    if user is None or not user.has_role("trainer", "admin"):
        flash(_("There is no trainer with that e-mail address."), "error")
        return redirect(url_for("authoring.course", slug=slug))
    services.set_member(course, user, None if form.role.data == "remove" else form.role.data, current_user)
    db.session.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("authoring.course", slug=slug))


@bp.get("/audit")
def audit_log() -> str:
    before = request.args.get("before", type=int)
    events = audit.recent(limit=100, before_id=before)
    return render_template("authoring/audit.html", events=events)
