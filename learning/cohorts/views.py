"""Trainers' cohort pages (under /authoring) and the invitation link a new learner follows."""

from __future__ import annotations

from functools import partial

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from learning.auth import services as auth
from learning.auth.forms import RegistrationForm
from learning.authoring.blueprint import bp, editable_course
from learning.authoring.services import can_edit
from learning.catalog.models import Course
from learning.cohorts import services
from learning.cohorts.forms import CohortForm, MembersForm
from learning.cohorts.models import Cohort
from learning.exports import csv_response
from learning.extensions import db
from learning.mail.tasks import send_email
from learning.outbox import after_commit

MAX_CSV_BYTES = 2 * 1024 * 1024


def _cohort(cohort_id: int) -> tuple[Cohort, Course]:
    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None:
        abort(404)
    course = db.session.get(Course, cohort.course_id)
    assert course is not None
    if not can_edit(current_user, course):
        abort(403)
    return cohort, course


@bp.route("/courses/<slug>/cohorts", methods=["GET", "POST"])
def cohorts(slug: str) -> str | Response:
    course = editable_course(slug)
    form = CohortForm()
    if form.validate_on_submit():
        try:
            cohort = services.create_cohort(
                course, form.name.data or "", form.starts_on.data, form.due_on.data, current_user
            )
        except services.CohortError as exc:
            form.due_on.errors.append(exc.message)
        else:
            db.session.commit()
            return redirect(url_for("authoring.cohort", cohort_id=cohort.id))
    items = list(
        db.session.scalars(select(Cohort).where(Cohort.course_id == course.id).order_by(Cohort.due_on))
    )
    return render_template("cohorts/list.html", course=course, cohorts=items, form=form)


@bp.get("/cohorts/<int:cohort_id>")
def cohort(cohort_id: int) -> str:
    cohort, course = _cohort(cohort_id)
    modules, rows = services.grid(cohort)
    return render_template(
        "cohorts/cohort.html",
        cohort=cohort,
        course=course,
        modules=modules,
        rows=rows,
        form=MembersForm(),
        roster=None,
    )


@bp.post("/cohorts/<int:cohort_id>/members", endpoint="cohort_members")
def members(cohort_id: int) -> str | Response | tuple[str, int]:
    cohort, course = _cohort(cohort_id)
    form = MembersForm()
    if not form.validate_on_submit():
        abort(400)
    upload = request.files.get("csv_file")
    if upload is not None and upload.filename:
        data = upload.read(MAX_CSV_BYTES + 1)
        if len(data) > MAX_CSV_BYTES:
            roster = services.Roster(problems=[services.RowProblem(1, "", "the file is larger than 2 MB")])
        else:
            roster = services.roster_from_csv(data)
    else:
        roster = services.roster_from_text(form.emails.data or "")
    if not roster.ok:
        modules, rows = services.grid(cohort)
        return render_template(
            "cohorts/cohort.html",
            cohort=cohort,
            course=course,
            modules=modules,
            rows=rows,
            form=form,
            roster=roster,
        ), 422
    applied = services.apply_roster(cohort, roster, current_user)
    base = current_app.config["BASE_URL"].rstrip("/")
    for email, token in applied.invited:
        link = base + url_for("cohorts.invitation", token=token)
        text = render_template(
            "cohorts/email/invitation.txt", cohort=cohort, course=course, link=link, inviter=current_user
        )
        html = render_template(
            "cohorts/email/invitation.html", cohort=cohort, course=course, link=link, inviter=current_user
        )
        subject = _(
            "You are invited to %(course)s",
            course=course.current_version.title if course.current_version else course.slug,
        )
        after_commit(partial(send_email.delay, email, subject, text, html))
    db.session.commit()
    flash(
        _(
            "%(added)s learners added and enrolled; %(invited)s invited by e-mail.",
            added=len(applied.added),
            invited=len(applied.invited),
        ),
        "success",
    )
    return redirect(url_for("authoring.cohort", cohort_id=cohort.id))


@bp.get("/cohorts/<int:cohort_id>/export.csv", endpoint="cohort_export")
def export(cohort_id: int) -> Response:
    cohort, _course = _cohort(cohort_id)
    modules, rows = services.grid(cohort)
    header = ["name", "email", "country", "organisation", "percent", "completed_at"]
    for slug, _title in modules:
        header += [f"{slug} complete", f"{slug} best score"]
    body = []
    for row in rows:
        line: list[object] = [
            row.user.full_name,
            row.user.email,
            row.user.country or "",
            row.user.organisation or "",
            row.percent,
            row.completed_at.isoformat() if row.completed_at else "",
        ]
        for slug, _title in modules:
            complete, score = row.modules[slug]
            line += ["yes" if complete else "no", "" if score is None else score]
        body.append(line)
    return csv_response(f"cohort-{cohort.id}.csv", header, body)


public = Blueprint("cohorts", __name__, template_folder="templates")


@public.route("/invitations/<token>", methods=["GET", "POST"])
def invitation(token: str) -> str | Response | tuple[str, int]:
    """The invitation link: new learners register here (the address is fixed) and join the cohort."""
    if len(token) > 100:
        abort(404)
    found = services.invitation_for(token)
    if found is None:
        return render_template("cohorts/invitation_invalid.html"), 404
    existing = auth.find_user(found.email)
    if existing is not None:
        if current_user.is_authenticated and current_user.id == existing.id and request.method == "POST":
            services.accept(found, existing)
            db.session.commit()
            return redirect(url_for("catalog.course", slug=found.cohort.course.slug))
        flash(_("An account with this address exists: sign in, then open the link again."), "info")
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.path))
    form = RegistrationForm(data={"email": found.email})
    if request.method == "POST" and existing is None:
        form.email.data = found.email  # the invitation's address, whatever was sent
        if form.validate_on_submit():
            profile = auth.Profile(
                full_name=form.full_name.data or "",
                country=form.country.data or None,
                organisation=form.organisation.data or None,
                organisation_type=form.organisation_type.data or None,
                job_title=form.job_title.data or None,
                language=form.language.data or "en",
                timezone=form.timezone.data or "UTC",
                consent_share_progress=bool(form.consent_share_progress.data),
            )
            user = auth.create_user(found.email, form.password.data, profile, set())
            services.accept(found, user)
            session.clear()
            auth.start_session(user)
            login_user(user)
            session.permanent = True
            db.session.commit()
            flash(_("Welcome. You are enrolled in the course with your cohort."), "success")
            return redirect(url_for("catalog.course", slug=found.cohort.course.slug))
    return render_template("cohorts/invitation.html", form=form, invitation=found, existing=existing)
