"""The e-mail announcing a certificate: claimed in the database before it is sent, a stale claim taken over
(RELIABILITY rule 2), built with the PDF attached."""

from __future__ import annotations

from email.message import EmailMessage

from flask import current_app, render_template
from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from learning.certificates.models import Certificate
from learning.certificates.services import pdf_bytes, record_event
from learning.db import utcnow
from learning.extensions import db
from learning.mail import build_message

# --- the e-mail -----------------------------------------------------------------------------------------


def claim_email(certificate_id: int) -> bool:
    """Claim the right to send this certificate's e-mail; a claim older than the lease is taken over
    (its worker died before the server accepted the message)."""
    now = utcnow()
    stale = now - current_app.config["CERTIFICATE_EMAIL_LEASE"]
    claimed = db.session.execute(
        update(Certificate)
        .where(
            Certificate.id == certificate_id,
            Certificate.email_sent_at.is_(None),
            Certificate.email_failed_at.is_(None),
            or_(Certificate.email_claimed_at.is_(None), Certificate.email_claimed_at < stale),
        )
        .values(email_claimed_at=now)
        .returning(Certificate.id)
    ).scalar_one_or_none()
    return claimed is not None


def release_email(certificate_id: int) -> None:
    """Give the claim back after a temporary failure, so that a retry may send."""
    db.session.execute(
        update(Certificate)
        .where(Certificate.id == certificate_id, Certificate.email_sent_at.is_(None))
        .values(email_claimed_at=None)
    )


def record_email(certificate_id: int, sent: bool) -> None:
    certificate = db.session.get(Certificate, certificate_id)
    assert certificate is not None
    if sent:
        certificate.email_sent_at = utcnow()
        record_event(certificate, "emailed", to=certificate.user.email)
    else:
        certificate.email_failed_at = utcnow()
    db.session.flush()


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


def message_for(certificate: Certificate) -> EmailMessage:
    """The e-mail for a certificate, with one Message-ID per certificate so that a repeat is recognisable."""
    user = certificate.user
    base = current_app.config["BASE_URL"].rstrip("/")
    context = {
        "certificate": certificate,
        "user": user,
        "dashboard_url": f"{base}/dashboard",
        "verify_url": f"{base}/verify/{certificate.code}",
    }
    message = build_message(
        user.email,
        _("Your certificate: %(course)s", course=certificate.course_title),
        render_template("certificates/email/issued.txt", **context),
        render_template("certificates/email/issued.html", **context),
    )
    del message["Message-ID"]
    message["Message-ID"] = f"<certificate-{certificate.serial.lower()}@smart-port-academy>"
    message.add_attachment(
        pdf_bytes(certificate),
        maintype="application",
        subtype="pdf",
        filename=f"certificate-{certificate.serial}.pdf",
    )
    return message
