"""The e-mail announcing a certificate: claimed in the database before it is sent, a stale claim taken over
(RELIABILITY rule 2), with links to the learner's page and the public verification page (the PDF stays
behind the sign-in: it carries the holder's name, and ministries' mail servers often hold attachments
back)."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from functools import cache
from typing import Any

from flask import current_app, render_template
from flask_babel import gettext as _
from sqlalchemy import bindparam, insert, literal, or_, select, update

from learning.certificates.models import Certificate, CertificateEvent
from learning.db import UTCDateTime, dialect_name, utcnow
from learning.extensions import db
from learning.mail import build_lean

# --- the e-mail -----------------------------------------------------------------------------------------


def unannounced(certificate: Certificate) -> bool:
    """Whether the certificate's e-mail is still to be sent (not sent, not refused for good)."""
    return certificate.email_sent_at is None and certificate.email_failed_at is None


def claim_email(certificate_id: int) -> bool:
    """Claim the right to send this certificate's e-mail (see claim_emails)."""
    return bool(claim_emails([certificate_id]))


def claim_emails(certificate_ids: list[int]) -> set[int]:
    """Claim the right to send these certificates' e-mails, in one statement; returns the ids claimed. A
    claim older than the lease is taken over (its worker died before the server accepted the message)."""
    if not certificate_ids:
        return set()
    now = utcnow()
    stale = now - current_app.config["CERTIFICATE_EMAIL_LEASE"]
    claimed = db.session.scalars(
        update(Certificate)
        .where(
            Certificate.id.in_(certificate_ids),
            Certificate.email_sent_at.is_(None),
            Certificate.email_failed_at.is_(None),
            or_(Certificate.email_claimed_at.is_(None), Certificate.email_claimed_at < stale),
        )
        .values(email_claimed_at=now)
        .returning(Certificate.id)
        .execution_options(synchronize_session=False)
    )
    return set(claimed)


def release_emails(certificate_ids: list[int]) -> None:
    """Give the claims back after a temporary failure, so that a retry may send."""
    db.session.execute(
        update(Certificate)
        .where(Certificate.id.in_(certificate_ids), Certificate.email_sent_at.is_(None))
        .values(email_claimed_at=None)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class Announcement:
    """What the e-mail of a certificate says and where it goes, read while the row is loaded, so that
    sending and recording need no reload."""

    certificate_id: int
    serial: str
    code: str
    course_title: str
    full_name: str  # the holder's name in their profile now, for the greeting
    to: str


def announcement_of(certificate: Certificate) -> Announcement:
    user = certificate.user
    return Announcement(
        certificate_id=certificate.id,
        serial=certificate.serial,
        code=certificate.code,
        course_title=certificate.course_title,
        full_name=user.full_name,
        to=user.email,
    )


def record_email(announcement: Announcement, sent: bool) -> None:
    """Record the outcome of a claimed e-mail: sent (with an audit event) or refused for good.

    This runs once per e-mail, and its own commit keeps what a crash can repeat to the one message in
    flight; so its statements are built once, and on PostgreSQL the mark and the event are one statement.
    """
    values: dict[str, Any] = {"certificate_id": announcement.certificate_id, "now": utcnow()}
    if sent:
        values["details"] = {"to": announcement.to}
    for statement in _recording(dialect_name() if sent else "failed"):
        db.session.execute(statement, values)


@cache
def _recording(how: str) -> list[Any]:
    """The statements recording an e-mail: refused for good ("failed"), or sent, for a dialect."""
    certificates, events = Certificate.__table__, CertificateEvent.__table__
    mark = certificates.update().where(certificates.c.id == bindparam("certificate_id"))
    if how == "failed":
        return [mark.values(email_failed_at=bindparam("now"))]
    mark = mark.values(email_sent_at=bindparam("now"))
    columns = ["certificate_id", "kind", "details", "created_at"]
    details = bindparam("details", type_=events.c.details.type)
    if how == "postgresql":  # one round trip: the event inserted from the UPDATE's RETURNING
        marked = mark.returning(certificates.c.id).cte("marked")
        rows = select(marked.c.id, literal("emailed"), details, bindparam("now", type_=UTCDateTime()))
        return [insert(events).add_cte(marked).from_select(columns, rows)]
    event = insert(events).values(
        certificate_id=bindparam("certificate_id"),
        kind="emailed",
        details=details,
        created_at=bindparam("now"),
    )
    return [mark, event]


def emails_due(limit: int = 500) -> list[int]:
    """Certificates whose e-mail was never sent and is not being sent (a lost task or a dead worker)."""
    now = utcnow()
    stale = now - current_app.config["CERTIFICATE_EMAIL_LEASE"]
    return list(
        db.session.scalars(
            select(Certificate.id)
            .where(
                Certificate.email_sent_at.is_(None),
                Certificate.email_failed_at.is_(None),
                Certificate.pdf_key.is_not(None),
                Certificate.status == "valid",
                or_(Certificate.email_claimed_at.is_(None), Certificate.email_claimed_at < stale),
                Certificate.issued_at < stale,
            )
            .order_by(Certificate.id)
            .limit(limit)
        )
    )


def message_for(announcement: Announcement) -> Message:
    """The e-mail for a certificate, with one Message-ID per certificate so that a repeat is recognisable."""
    base = current_app.config["BASE_URL"].rstrip("/")
    context = {
        "announcement": announcement,
        "dashboard_url": f"{base}/dashboard",
        "pdf_url": f"{base}/certificates/{announcement.serial}/certificate.pdf",
        "verify_url": f"{base}/verify/{announcement.code}",
    }
    return build_lean(
        announcement.to,
        _("Your certificate: %(course)s", course=announcement.course_title),
        render_template("certificates/email/issued.txt", **context),
        render_template("certificates/email/issued.html", **context),
        f"<certificate-{announcement.serial.lower()}@smart-port-academy>",
    )
