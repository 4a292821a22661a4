"""Erasing an account: the person's data goes, the figures they are part of stay.

The user row stays, anonymised, because enrolments, completions, attempts and certificates point at it and
the secretariat's reports count them by country and type of organisation; nothing left leads back to the
person. What erasure does to each table is in coverage.py. The service flushes; the caller commits, and the
files (plan attachments, certificate PDFs, report exports) are deleted after that commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, or_, select, update

from learning.audit import services as audit
from learning.audit.models import AuditEvent
from learning.auth.models import ApiToken, AuthAttempt, LoginSession, PasswordReset, User, UserRole
from learning.capstone.models import CapstoneReview, CapstoneSubmission
from learning.catalog.models import CourseMember
from learning.certificates import services as certificates
from learning.certificates.models import Certificate, CertificateEvent
from learning.cohorts.models import CohortInvitation
from learning.db import utcnow
from learning.extensions import db
from learning.outbox import after_commit
from learning.progress.models import Enrolment, SyncEvent
from learning.reminders.models import ReminderBundle, ReminderOptOut
from learning.reports.jobs import export_folder
from learning.reports.models import ReportExport, ReportMailing
from learning.security.log import security_event
from learning.storage import storage

CERTIFICATE_CHOICES = ("keep", "revoke")
ERASED_NAME = "Deleted account"
ERASED_DOMAIN = "erased.invalid"  # RFC 2606: never a real address


class ErasureError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Erased:
    user_id: int
    certificates_kept: int = 0
    certificates_revoked: int = 0
    files: list[str] = field(default_factory=list)


def placeholder_email(user_id: int) -> str:
    return f"erased-{user_id}@{ERASED_DOMAIN}"


def erase_account(
    user: User, actor: User, certificate_choice: str | None = None, request_reference: str = ""
) -> Erased:
    """Remove ``user``'s personal data and close the account; ``actor`` is the user or a staff member.

    ``certificate_choice`` ("keep" or "revoke") decides what happens to certificates already issued; the
    default is the ERASURE_CERTIFICATES setting; ``request_reference`` (the staff's reference of the request)
    goes into the audit log. Flushes; files go after the commit.
    """
    choice = certificate_choice or current_app.config["ERASURE_CERTIFICATES"]
    if choice not in CERTIFICATE_CHOICES:
        raise ErasureError("bad_choice", _("Choose whether certificates are kept or revoked."))
    # one erasure at a time: a second request (another tab, staff at once) waits, then finds it done
    locked = db.session.scalar(
        select(User).where(User.id == user.id).with_for_update().execution_options(populate_existing=True)
    )
    assert locked is not None
    if user.erased_at is not None:
        raise ErasureError("already_erased", _("This account is already erased."))
    now = utcnow()
    old_email = user.email
    new_email = placeholder_email(user.id)
    result = Erased(user_id=user.id)
    enrolments = select(Enrolment.id).where(Enrolment.user_id == user.id).scalar_subquery()

    # credentials and what only served the person
    for model in (
        LoginSession,
        ApiToken,
        PasswordReset,
        SyncEvent,
        ReminderOptOut,
        CourseMember,
        ReportMailing,
    ):
        db.session.execute(delete(model).where(model.user_id == user.id))
    db.session.execute(delete(UserRole).where(UserRole.user_id == user.id, UserRole.role != "learner"))
    db.session.execute(delete(AuthAttempt).where(AuthAttempt.email == old_email))
    for export in db.session.scalars(select(ReportExport).where(ReportExport.user_id == user.id)):
        if export.path:
            after_commit(partial(_delete_export, export.path))
        db.session.delete(export)

    # the capstone plans: texts and attachments; the status stays (it holds completion)
    for plan in db.session.scalars(
        select(CapstoneSubmission).where(CapstoneSubmission.enrolment_id.in_(enrolments))
    ):
        if plan.attachment_key:
            result.files.append(plan.attachment_key)
        plan.sections = {}
        plan.attachment_key = plan.attachment_name = plan.attachment_type = None
        plan.attachment_size = None
        plan.shareable_at = None
    db.session.execute(
        update(CapstoneReview)
        .where(
            CapstoneReview.submission_id.in_(
                select(CapstoneSubmission.id).where(CapstoneSubmission.enrolment_id.in_(enrolments))
            )
        )
        .values(comment="")
    )

    # reminders: nothing more is sent; what was sent still counts
    db.session.execute(
        update(ReminderBundle)
        .where(ReminderBundle.user_id == user.id, ReminderBundle.status.in_(("pending", "sending")))
        .values(status="cancelled")
    )
    db.session.execute(update(ReminderBundle).where(ReminderBundle.user_id == user.id).values(error=None))

    # invitations to the address, and where the address was the subject of an audit event
    db.session.execute(
        delete(CohortInvitation).where(
            CohortInvitation.email == old_email, CohortInvitation.accepted_user_id.is_(None)
        )
    )
    for invitation in db.session.scalars(
        select(CohortInvitation).where(
            or_(CohortInvitation.email == old_email, CohortInvitation.accepted_user_id == user.id)
        )
    ):  # one address each: (cohort, email) is unique, and two addresses may have led to one account
        invitation.email = f"erased-{user.id}-{invitation.id}@{ERASED_DOMAIN}"
    db.session.execute(update(AuditEvent).where(AuditEvent.subject == old_email).values(subject=new_email))

    _certificates(user, actor, choice, now, result)

    user.email = new_email
    user.full_name = ERASED_NAME
    user.password_hash = None
    user.organisation = None
    user.job_title = None
    user.timezone = "UTC"
    user.language = "en"
    user.consent_share_progress_at = None
    user.active = False
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = None
    user.password_changed_at = None
    user.erased_at = now
    audit.record(
        "account.erase",
        actor_id=actor.id,
        subject=new_email,
        by="self" if actor.id == user.id else "staff",
        certificates=choice,
        request=request_reference,
    )
    security_event("account_erase", "success", user_id=user.id)
    db.session.flush()
    files = storage()
    for key in result.files:
        after_commit(partial(files.delete, key))
    return result


def _certificates(user: User, actor: User, choice: str, now: datetime, result: Erased) -> None:
    personal = {user.email, user.full_name}  # what the trail may have recorded: names, the address
    for certificate in db.session.scalars(
        select(Certificate).where(Certificate.user_id == user.id).order_by(Certificate.id)
    ):
        personal.add(certificate.holder_name)
        if certificate.pdf_key:
            result.files.append(certificate.pdf_key)
        if choice == "revoke" and certificate.status == "valid":
            certificates.revoke(certificate, actor, _("The holder's account was erased."))
            result.certificates_revoked += 1
        elif certificate.status == "valid":
            result.certificates_kept += 1
        certificate.holder_name = ""
        certificate.credential = None
        certificate.pdf_key = None
        certificate.pdf_sha256 = None
        certificate.holder_erased_at = now
        if certificate.email_sent_at is None:
            certificate.email_failed_at = certificate.email_failed_at or now
    # the trail keeps what happened and why, not to whom: reissues record names, e-mails the address
    for event in db.session.scalars(
        select(CertificateEvent).where(
            CertificateEvent.certificate_id.in_(select(Certificate.id).where(Certificate.user_id == user.id))
        )
    ):
        if any(value in personal for value in event.details.values()):
            event.details = {k: v for k, v in event.details.items() if v not in personal}


def _delete_export(name: str) -> None:
    (export_folder() / Path(name).name).unlink(missing_ok=True)
