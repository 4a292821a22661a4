"""Certificate tasks: they take ids, check state first, commit themselves and may run twice.

acks_late with reject_on_worker_lost gives a task whose worker died to another worker; the unique key and
the e-mail claim make that second run harmless (RELIABILITY rules 2 and 3).
"""

from __future__ import annotations

import logging
import random
import smtplib
from collections.abc import Callable
from dataclasses import dataclass

from celery import Task, shared_task
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import joinedload

from learning import throttle
from learning.auth import services as auth
from learning.certificates import emails, services
from learning.certificates.models import Certificate
from learning.certificates.pdf import CertificateContent
from learning.extensions import db
from learning.mail import PermanentMailError, send_kept
from learning.outbox import after_commit

logger = logging.getLogger(__name__)

TEMPORARY_DB = (OperationalError, IntegrityError, OSError)
TEMPORARY_MAIL = (smtplib.SMTPException, OSError)
RELIABLE = {"acks_late": True, "reject_on_worker_lost": True, "ignore_result": True, "max_retries": 8}


def backoff(retries: int) -> float:
    """Exponential backoff with full jitter, capped at ten minutes."""
    base = float(current_app.config["CERTIFICATE_RETRY_BACKOFF"])
    return random.uniform(0, min(600.0, base * 2**retries))  # noqa: S311 - jitter, not a secret


@dataclass(frozen=True)
class Pending:
    """A certificate this task is to finish, with what that needs, read before the commit expires the row:
    no reloading afterwards."""

    certificate_id: int
    serial: str
    content: CertificateContent | None  # None: its PDF is stored already
    announcement: emails.Announcement | None  # None: announced already, or refused for good


def _pending(certificate: Certificate) -> Pending:
    content = services.content_of(certificate) if services.needs_pdf(certificate) else None
    announcement = emails.announcement_of(certificate) if emails.unannounced(certificate) else None
    return Pending(certificate.id, certificate.serial, content, announcement)


def _finish(task: Task, what: str, certificates: Callable[[], list[Certificate]]) -> None:
    """Finish ``certificates()``: render and store the PDFs still to be made, record them and claim the
    e-mails still to be sent in one commit, then send the e-mails claimed. An e-mail found claimed (a twin
    running, or a claim of a killed first run) is left to that claim's owner, or to the sweep once the
    claim is stale. A database failure retries the task with backoff."""
    try:
        pending = [_pending(c) for c in certificates()]
        db.session.commit()  # the issuing transaction stays short: the rendering comes after it
        files = {p.certificate_id: services.render_file(p.serial, p.content) for p in pending if p.content}
        services.record_pdfs(files)
        claimed = emails.claim_emails([p.certificate_id for p in pending if p.announcement is not None])
        db.session.commit()
    except TEMPORARY_DB as exc:
        db.session.rollback()
        logger.warning("%s failed, retrying: %s", what, exc)
        raise task.retry(exc=exc, countdown=backoff(task.request.retries)) from None
    announce([p.announcement for p in pending if p.announcement and p.certificate_id in claimed])


@shared_task(bind=True, **RELIABLE)
def issue_certificate(self: Task, enrolment_id: int | None = None) -> None:
    """Issue the certificate of a completed enrolment (if it has none yet) with those of other completions
    waiting for theirs, CERTIFICATE_BATCH_SIZE in all at most, in one short transaction; then render and
    store their PDFs, and e-mail them over one SMTP connection (each claimed first).

    A burst of completions queues one such task (services.wake_issuing); one that takes a full batch
    queues the next after its commit (without an enrolment), which another worker process takes while
    this one renders. If it dies before the PDFs are stored, the sweep finishes them once the lease has
    passed (finish_certificate).
    """
    size = current_app.config["CERTIFICATE_BATCH_SIZE"]

    def batch() -> list[Certificate]:
        services.issuing_started()
        db.session.commit()  # before the batch is selected: see services.wake_issuing
        issued = services.issue_pending(enrolment_id, size)
        if issued.full:
            after_commit(issue_certificate.delay)
        return issued.certificates

    what = f"issuing for enrolment {enrolment_id}" if enrolment_id is not None else "issuing"
    _finish(self, what, batch)


@shared_task(bind=True, **RELIABLE)
def finish_certificate(self: Task, certificate_id: int) -> None:
    """Render, store and announce an issued certificate whatever of that is still to be done: a reissue,
    or a certificate whose issuing task died after its commit."""

    def unfinished() -> list[Certificate]:
        certificate = services.unfinished(certificate_id)
        return [certificate] if certificate is not None else []

    _finish(self, f"finishing certificate {certificate_id}", unfinished)


def announce(announcements: list[emails.Announcement]) -> None:
    """Send claimed e-mails one after the other over the worker's kept SMTP connection. A temporary
    failure gives back the claims of those not sent yet and queues their e-mail task, which retries
    with backoff."""
    for number, announcement in enumerate(announcements):
        try:
            deliver(announcement)
        except TEMPORARY_MAIL as exc:
            logger.warning("certificate %s: e-mail not sent, retrying: %s", announcement.serial, exc)
            rest = [a.certificate_id for a in announcements[number:]]
            emails.release_emails(rest[1:])  # deliver gave back the first one's claim
            db.session.commit()
            for certificate_id in rest:
                send_certificate_email.delay(certificate_id)
            return


def deliver(announcement: emails.Announcement) -> None:
    """Send a claimed e-mail and record the outcome, each committed; a temporary failure gives the claim
    back and raises."""
    try:
        send_kept(emails.message_for(announcement))
    except PermanentMailError:
        logger.exception("certificate %s: the mail server refused the e-mail for good", announcement.serial)
        emails.record_email(announcement, sent=False)
        db.session.commit()
        return
    except TEMPORARY_MAIL:
        db.session.rollback()
        emails.release_emails([announcement.certificate_id])
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
    db.session.commit()
    try:
        deliver(announcement)
    except TEMPORARY_MAIL as exc:
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from None


@shared_task(ignore_result=True)
def sweep_certificates() -> None:
    """Queue what a lost task or a dead worker left undone: issues, and e-mails whose claim went stale.
    Being the periodic task that runs most often, it also deletes finished throttle windows and the
    registrations whose confirmation link expired (their name and address are kept no longer)."""
    missing = services.never_issued()
    unrendered = services.unrendered()
    due = emails.emails_due()
    throttle.purge()
    auth.purge_registrations()
    db.session.commit()
    for enrolment_id in missing:
        issue_certificate.delay(enrolment_id)
    for certificate_id in unrendered:
        finish_certificate.delay(certificate_id)
    for certificate_id in due:
        send_certificate_email.delay(certificate_id)
    if missing or unrendered or due:
        counts = len(missing), len(unrendered), len(due)
        logger.info("certificate sweep queued %d issues, %d PDFs and %d e-mails", *counts)
