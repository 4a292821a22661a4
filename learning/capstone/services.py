"""The capstone's life: the learner saves and submits, a trainer accepts or returns it, the learner shares it.

Services flush; the view commits; e-mails leave after the commit (RELIABILITY rule 4).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from learning.audit import services as audit
from learning.auth.models import User
from learning.capstone.models import CapstoneReview, CapstoneSubmission
from learning.catalog.models import Course, CourseVersion
from learning.db import utcnow
from learning.extensions import db
from learning.mail.tasks import send_email
from learning.outbox import after_commit, after_rollback
from learning.progress import services as progress
from learning.progress.models import Enrolment
from learning.storage import storage
from learning.uploads import Upload

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_SECTION_CHARS = 20_000


class CapstoneError(Exception):
    """A change the submission's state does not allow; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def capstone_of(version_id: int) -> dict[str, Any] | None:
    version = db.session.get(CourseVersion, version_id)
    return version.capstone if version is not None else None


def submission_of(enrolment: Enrolment) -> CapstoneSubmission | None:
    return db.session.scalar(
        select(CapstoneSubmission).where(CapstoneSubmission.enrolment_id == enrolment.id)
    )


def submissions_for(course: Course) -> list[CapstoneSubmission]:
    """The course's plans that left the draft stage, waiting ones first."""
    rows = db.session.scalars(
        select(CapstoneSubmission)
        .join(Enrolment)
        .where(Enrolment.course_id == course.id, CapstoneSubmission.status != "draft")
        .order_by(CapstoneSubmission.submitted_at)
    )
    order = {"submitted": 0, "returned": 1, "accepted": 2}
    return sorted(rows, key=lambda s: order.get(s.status, 3))


def save(
    enrolment: Enrolment,
    texts: dict[str, str],
    upload: Upload | None,
    filename: str | None,
    submit: bool,
) -> CapstoneSubmission:
    """Save the learner's sections (and attachment); ``submit`` sends the plan for review."""
    capstone = capstone_of(enrolment.version_id)
    if capstone is None:
        raise CapstoneError(_("This course has no capstone."))
    submission = submission_of(enrolment)
    if submission is None:
        submission = CapstoneSubmission(enrolment_id=enrolment.id, sections={}, status="draft")
        db.session.add(submission)
        db.session.flush()
    elif not submission.is_editable:
        raise CapstoneError(_("This plan is with a trainer or accepted; it cannot change now."))
    slugs = [section["slug"] for section in capstone["sections"]]
    submission.sections = {slug: (texts.get(slug) or "").strip()[:MAX_SECTION_CHARS] for slug in slugs}
    now = utcnow()
    submission.updated_at = now
    if upload is not None:
        key = f"capstone/{enrolment.id}/{upload.digest}.{upload.extension}"
        _store_attachment(key, upload.data, replaces=submission.attachment_key)
        submission.attachment_key = key
        submission.attachment_name = _safe_name(filename or f"plan.{upload.extension}", upload.extension)
        submission.attachment_type = upload.mimetype
        submission.attachment_size = len(upload.data)
    if submit:
        if not all(submission.sections.values()):
            raise CapstoneError(_("Write something in every section before you submit the plan."))
        submission.status = "submitted"
        submission.submitted_at = now
        audit.record(
            "capstone.submit",
            actor_id=enrolment.user_id,
            course_id=enrolment.course_id,
            subject=enrolment.user.email,
            submission=submission.id,
        )
    db.session.flush()
    return submission


def review(submission: CapstoneSubmission, reviewer: User, accept: bool, comment: str) -> CapstoneReview:
    """Accept the plan or return it with comments; accepting may complete the course."""
    if submission.status != "submitted":
        raise CapstoneError(_("Only a submitted plan can be reviewed."))
    comment = comment.strip()
    if not accept and not comment:
        raise CapstoneError(_("Say what to change when you return a plan."))
    enrolment = progress.lock_enrolment(submission.enrolment_id)
    now = utcnow()
    decision = "accepted" if accept else "returned"
    row = CapstoneReview(
        submission_id=submission.id,
        reviewer_id=reviewer.id,
        decision=decision,
        comment=comment,
        reviewed_at=now,
    )
    db.session.add(row)
    submission.status = decision
    submission.reviewed_at = now
    submission.reviewer_id = reviewer.id
    audit.record(
        "capstone.review",
        actor_id=reviewer.id,
        course_id=enrolment.course_id,
        subject=enrolment.user.email,
        submission=submission.id,
        decision=decision,
    )
    db.session.flush()
    if accept:
        progress.recompute(enrolment, now)
    _tell_learner(enrolment, decision, comment)
    return row


def set_shareable(submission: CapstoneSubmission, shareable: bool) -> None:
    """Offer (or withdraw) an accepted plan to the secretariat as a national good practice."""
    if submission.status != "accepted":
        raise CapstoneError(_("Only an accepted plan can be shared."))
    if shareable and submission.shareable_at is None:
        submission.shareable_at = utcnow()
    elif not shareable:
        submission.shareable_at = None
    db.session.flush()


def _tell_learner(enrolment: Enrolment, decision: str, comment: str) -> None:
    course = enrolment.course
    title = enrolment.version.title
    # BASE_URL, not url_for: a review may come from a task or a command, outside any request
    link = f"{current_app.config['BASE_URL'].rstrip('/')}/courses/{course.slug}/capstone"
    if decision == "accepted":
        subject = _("Your capstone for %(course)s is accepted", course=title)
        text = _("A trainer accepted your action plan for %(course)s.", course=title)
    else:
        subject = _("Your capstone for %(course)s needs another round", course=title)
        text = _("A trainer returned your action plan for %(course)s with comments.", course=title)
    if comment:
        text += "\n\n" + comment
    text += "\n\n" + link + "\n"
    after_commit(partial(send_email.delay, enrolment.user.email, subject, text))


def _store_attachment(key: str, data: bytes, replaces: str | None) -> None:
    """Write the file now; remove it again if the row never commits, and the file it replaces once it
    does, so that neither a failed commit nor a new attachment leaves a file behind."""
    files = storage()
    if key == replaces:
        return  # the same bytes again: the stored file is already the one
    written = not files.exists(key)
    files.save(key, data)
    if written:
        after_rollback(partial(files.delete, key))
    if replaces is not None:
        after_commit(partial(files.delete, replaces))


def _safe_name(name: str, extension: str) -> str:
    """A display name for the attachment: its base name in plain characters, with the sniffed extension."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    cleaned = "".join(c if c.isalnum() or c in "-_ " else "_" for c in base).strip() or "plan"
    return f"{cleaned[:100]}.{extension}"
