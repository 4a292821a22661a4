"""Certificate tasks: they take ids, check state first, commit themselves and may run twice.

acks_late with reject_on_worker_lost gives a task whose worker died to another worker; the unique key and
the e-mail claim make that second run harmless (RELIABILITY rules 2 and 3).
"""

from __future__ import annotations

import logging
import random
import smtplib

from celery import Task, shared_task
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import joinedload

from learning import throttle
from learning.auth import services as auth
from learning.certificates import emails, services
from learning.certificates.models import Certificate
from learning.extensions import db
from learning.mail import PermanentMailError, send_kept

logger = logging.getLogger(__name__)

TEMPORARY_DB = (OperationalError, IntegrityError, OSError)
TEMPORARY_MAIL = (smtplib.SMTPException, OSError)
RELIABLE = {"acks_late": True, "reject_on_worker_lost": True, "ignore_result": True, "max_retries": 8}


def backoff(retries: int) -> float:
    """Exponential backoff with full jitter, capped at ten minutes."""
    base = float(current_app.config["CERTIFICATE_RETRY_BACKOFF"])
    return random.uniform(0, min(600.0, base * 2**retries))  # noqa: S311 - jitter, not a secret


@shared_task(bind=True, **RELIABLE)
def issue_certificate(self: Task, enrolment_id: int) -> None:
    """Issue the certificate of a completed enrolment, store its PDF, then e-mail it (claimed first)."""
    try:
        certificate = services.issue_for_enrolment(enrolment_id)
        if certificate is None:
            db.session.commit()
            return
        # What the rest needs, read before the commit expires the row: no reloading afterwards.
        certificate_id, serial = certificate.id, certificate.serial
        wanted = services.needs_pdf(certificate) and certificate.holder_erased_at is None
        announcement = (
            emails.announcement_of(certificate)
            if emails.unannounced(certificate) and certificate.holder_erased_at is None
            else None
        )
        content = services.content_of(certificate) if wanted else None
        db.session.commit()
        pdf = None
        if content is not None:  # rendered outside the short issuing transaction
            pdf = services.render_and_store(certificate_id, serial, content)
        # The PDF's record and the e-mail's claim share a commit; a task that finds the e-mail claimed
        # (a twin running, or a claim of this task's killed first run) leaves it to that claim's owner,
        # or to the sweep once the claim is stale.
        claimed = announcement is not None and emails.claim_email(certificate_id)
        db.session.commit()
    except TEMPORARY_DB as exc:
        db.session.rollback()
        logger.warning("issuing for enrolment %s failed, retrying: %s", enrolment_id, exc)
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from None
    if not claimed:
        return
    assert announcement is not None
    if pdf is None:  # stored by an earlier run of this task
        pdf = services.stored_pdf(certificate_id)
    # Sent here rather than by a second task: one task per certificate, and the PDF is still in memory.
    try:
        deliver(announcement, pdf)
    except TEMPORARY_MAIL as exc:
        logger.warning("certificate %s: e-mail not sent, queued for retries: %s", serial, exc)
        send_certificate_email.delay(certificate_id)


def deliver(announcement: emails.Announcement, pdf: bytes) -> None:
    """Send a claimed e-mail and record the outcome, each committed; a temporary failure gives the claim
    back and raises."""
    try:
        send_kept(emails.message_for(announcement, pdf))
    except PermanentMailError:
        logger.exception("certificate %s: the mail server refused the e-mail for good", announcement.serial)
        emails.record_email(announcement, sent=False)
        db.session.commit()
        return
    except TEMPORARY_MAIL:
        db.session.rollback()
        emails.release_email(announcement.certificate_id)
        db.session.commit()
        raise
    emails.record_email(announcement, sent=True)
    db.session.commit()


@shared_task(bind=True, **RELIABLE)
def send_certificate_email(self: Task, certificate_id: int) -> None:
    """Send the e-mail announcing a certificate, at most once: claimed in the database first."""
    claimed = emails.claim_email(certificate_id)
    db.session.commit()
    if not claimed:
        return
    certificate = db.session.scalars(
        select(Certificate).where(Certificate.id == certificate_id).options(joinedload(Certificate.user))
    ).one()
    announcement = emails.announcement_of(certificate)
    # A PDF that can be neither loaded nor rendered fails the task: the claim goes stale, and the sweep
    # queues the e-mail again after the lease.
    pdf = services.pdf_bytes(certificate)
    try:
        deliver(announcement, pdf)
    except TEMPORARY_MAIL as exc:
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from None


@shared_task(ignore_result=True)
def sweep_certificates() -> None:
    """Queue what a lost task or a dead worker left undone: issues, and e-mails whose claim went stale.
    Being the periodic task that runs most often, it also deletes finished throttle windows and the
    registrations whose confirmation link expired (their name and address are kept no longer)."""
    missing = services.missing_issues()
    due = emails.emails_due()
    throttle.purge()
    auth.purge_registrations()
    db.session.commit()
    for enrolment_id in missing:
        issue_certificate.delay(enrolment_id)
    for certificate_id in due:
        send_certificate_email.delay(certificate_id)
    if missing or due:
        logger.info("certificate sweep queued %d issues and %d e-mails", len(missing), len(due))
