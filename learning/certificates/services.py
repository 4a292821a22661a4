"""Issuing, revoking and reissuing certificates. Services flush; the task or view commits.

Exactly one current certificate per learner and course version, however often issuing runs: the state is
checked first, and the insert is ON CONFLICT DO NOTHING on the partial unique index, so two workers racing
for one completion end with one row (RELIABILITY rule 2).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, text, update
from sqlalchemy.orm.attributes import set_committed_value

from learning.auth.models import User
from learning.catalog.models import Course, CourseVersion
from learning.certificates import credential
from learning.certificates.models import CURRENT, Certificate, CertificateEvent
from learning.certificates.pdf import CertificateContent, render_certificate
from learning.db import insert_for, utcnow
from learning.extensions import db
from learning.progress.models import Enrolment
from learning.storage import storage

logger = logging.getLogger(__name__)
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class CertificateError(Exception):
    """A request the certificate's state does not allow; ``code`` names it for the API."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def new_serial() -> str:
    """A serial like SPA-7KQ2-M9XD-3FHA: 60 random bits, no look-alike letters, printed on the PDF."""
    chars = "".join(secrets.choice(CROCKFORD) for _ in range(12))
    return f"SPA-{chars[:4]}-{chars[4:8]}-{chars[8:]}"


def new_code() -> str:
    """The public verification code: 192 random bits, URL-safe, the only way to look a certificate up."""
    return secrets.token_urlsafe(24)


def current_certificate(user_id: int, version_id: int) -> Certificate | None:
    return db.session.scalar(
        select(Certificate).where(
            Certificate.user_id == user_id,
            Certificate.course_version_id == version_id,
            Certificate.status != "superseded",
        )
    )


def record_event(
    certificate: Certificate, kind: str, actor: User | None = None, reason: str | None = None, **details: Any
) -> None:
    db.session.add(
        CertificateEvent(
            certificate_id=certificate.id,
            kind=kind,
            actor_id=actor.id if actor else None,
            reason=reason,
            details=details,
            created_at=utcnow(),
        )
    )


def _facts(certificate: Certificate, course: Course, version: CourseVersion) -> credential.CredentialFacts:
    return credential.CredentialFacts(
        code=certificate.code,
        serial=certificate.serial,
        status_index=certificate.status_index,
        holder_name=certificate.holder_name,
        course_slug=course.slug,
        version_number=version.number,
        course_title=certificate.course_title,
        hours=certificate.hours,
        completed_at=certificate.completed_at,
        issued_at=certificate.issued_at,
    )


def _insert(
    user: User, enrolment_id: int | None, version: CourseVersion, completed_at: datetime
) -> Certificate | None:
    """Insert a certificate unless the learner has a current one for this version; None on conflict."""
    now = utcnow()
    stmt = (
        insert_for(Certificate)
        .values(
            serial=new_serial(),
            code=new_code(),
            user_id=user.id,
            enrolment_id=enrolment_id,
            course_id=version.course_id,
            course_version_id=version.id,
            holder_name=user.full_name,
            course_title=version.title,
            hours=version.hours,
            completed_at=completed_at,
            issued_at=now,
            status="valid",
        )
        .on_conflict_do_nothing(
            index_elements=[Certificate.user_id, Certificate.course_version_id], index_where=text(CURRENT)
        )
        .returning(Certificate)
    )
    certificate = db.session.scalars(stmt).one_or_none()
    if certificate is None:
        return None
    refresh_certified(user.id, version.course_id)
    course = version.course
    certificate.credential, certificate.key_id = credential.signed_credential(
        _facts(certificate, course, version)
    )
    db.session.flush()
    return certificate


def issue_for_enrolment(enrolment_id: int) -> Certificate | None:
    """Issue the certificate for a completed enrolment, or return the one already issued.

    Returns None when there is nothing to certify (no such enrolment, or not completed).
    """
    row = db.session.execute(
        select(Enrolment, User, CourseVersion, Course, Certificate)
        .join(User, User.id == Enrolment.user_id)
        .join(CourseVersion, CourseVersion.id == Enrolment.completed_version_id)
        .join(Course, Course.id == CourseVersion.course_id)
        .outerjoin(
            Certificate,
            (Certificate.user_id == Enrolment.user_id)
            & (Certificate.course_version_id == Enrolment.completed_version_id)
            & (Certificate.status != "superseded"),
        )
        .where(Enrolment.id == enrolment_id, Enrolment.completed_at.is_not(None), User.erased_at.is_(None))
    ).one_or_none()  # everything issuing needs, and the state check, in one query
    if row is None:
        return None
    enrolment, user, version, _course, existing = row
    if existing is not None:
        return _with_holder(existing, user)
    assert enrolment.completed_at is not None
    certificate = _insert(user, enrolment.id, version, enrolment.completed_at)
    if certificate is None:  # another worker issued it between our check and our insert
        return current_certificate(enrolment.user_id, enrolment.completed_version_id)
    record_event(certificate, "issued", serial=certificate.serial)
    logger.info("issued certificate %s for enrolment %s", certificate.serial, enrolment_id)
    return _with_holder(certificate, user)


def _with_holder(certificate: Certificate, user: User) -> Certificate:
    # The session holds loaded rows weakly: without this, the user loaded above would be gone when the
    # caller reads certificate.user, and it would be selected again.
    set_committed_value(certificate, "user", user)
    return certificate


def missing_issues(limit: int = 500) -> list[int]:
    """Completed enrolments without a current certificate (a task lost before it ran), then those whose
    valid certificate has no PDF yet (a worker killed between the issuing commit and the rendering): the
    issuing task, run again, finds the certificate and renders it."""
    stale = utcnow() - current_app.config["CERTIFICATE_EMAIL_LEASE"]
    unrendered = list(
        db.session.scalars(
            select(Certificate.enrolment_id)
            .where(
                Certificate.status == "valid",
                Certificate.pdf_key.is_(None),
                Certificate.holder_erased_at.is_(None),
                Certificate.enrolment_id.is_not(None),
                Certificate.issued_at < stale,
            )
            .order_by(Certificate.id)
            .limit(limit)
        )
    )
    return _never_issued(limit) + [i for i in unrendered if i is not None]


def _never_issued(limit: int) -> list[int]:
    has_certificate = (
        select(Certificate.id)
        .where(
            Certificate.user_id == Enrolment.user_id,
            Certificate.course_version_id == Enrolment.completed_version_id,
            Certificate.status != "superseded",
        )
        .exists()
    )
    return list(
        db.session.scalars(
            select(Enrolment.id)
            .where(
                Enrolment.completed_version_id.is_not(None),
                # the normal path is quicker; the sweep only picks up what it lost
                Enrolment.completed_at < utcnow() - current_app.config["CERTIFICATE_EMAIL_LEASE"],
                ~has_certificate,
                ~Enrolment.user_id.in_(select(User.id).where(User.erased_at.is_not(None))),
            )
            .order_by(Enrolment.id)
            .limit(limit)
        )
    )


# --- the PDF --------------------------------------------------------------------------------------------


def content_of(certificate: Certificate) -> CertificateContent:
    return CertificateContent(
        holder_name=certificate.holder_name,
        course_title=certificate.course_title,
        hours=certificate.hours,
        completed_at=certificate.completed_at,
        issued_at=certificate.issued_at,
        serial=certificate.serial,
        verify_url=f"{credential.base_url()}/verify/{certificate.code}",
        issuer_name=current_app.config["CERTIFICATE_ISSUER_NAME"],
        country=certificate.user.country,
    )


def render_and_store(certificate_id: int, serial: str, content: CertificateContent) -> bytes:
    """Render a certificate, keep the file and record its key and digest (one UPDATE, no reload);
    idempotent: the key is the serial."""
    rendered = render_certificate(content)
    if rendered.missing:
        logger.error(
            "certificate %s: no bundled font has %s; add a font for that script",
            serial,
            ", ".join(f"U+{ord(ch[0]):04X}" for ch in rendered.missing),
        )
    key = f"certificates/{serial.lower()}.pdf"
    files = storage(durable=False)
    files.save(key, rendered.data)  # pdf_bytes checks the digest and renders again
    recorded = db.session.execute(
        update(Certificate)
        .where(Certificate.id == certificate_id, Certificate.holder_erased_at.is_(None))
        .values(pdf_key=key, pdf_sha256=hashlib.sha256(rendered.data).hexdigest())
    )
    if recorded.rowcount == 0:  # type: ignore[attr-defined]
        files.delete(key)  # the holder's account was erased while this was rendered: no name stays
    return rendered.data


def needs_pdf(certificate: Certificate) -> bool:
    """Whether the PDF is still to be made (a retried task does not render twice)."""
    return certificate.pdf_key is None or not storage().exists(certificate.pdf_key)


def stored_pdf(certificate_id: int) -> bytes:
    """The PDF of a certificate by id (see pdf_bytes)."""
    certificate = db.session.get(Certificate, certificate_id)
    assert certificate is not None
    return pdf_bytes(certificate)


def pdf_bytes(certificate: Certificate) -> bytes:
    """The stored PDF; rendered again from the row if the file was lost or damaged (the row holds all
    the certificate says, and the digest of the file)."""
    if certificate.pdf_key:
        try:
            data = storage().load(certificate.pdf_key)
        except FileNotFoundError:
            logger.warning("certificate %s: stored PDF missing, rendering it again", certificate.serial)
        else:
            if hashlib.sha256(data).hexdigest() == certificate.pdf_sha256:
                return data
            logger.warning("certificate %s: stored PDF damaged, rendering it again", certificate.serial)
    data = render_and_store(certificate.id, certificate.serial, content_of(certificate))
    db.session.refresh(certificate)
    return data


# --- revocation and reissue -----------------------------------------------------------------------------


def by_code(code: str) -> Certificate | None:
    if not code or len(code) > 64:
        return None
    return db.session.scalar(select(Certificate).where(Certificate.code == code))


def by_serial(serial: str) -> Certificate | None:
    return db.session.scalar(select(Certificate).where(Certificate.serial == serial.strip().upper()))


def lock(certificate: Certificate) -> Certificate:
    locked = db.session.scalar(
        select(Certificate)
        .where(Certificate.id == certificate.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert locked is not None
    return locked


def revoke(certificate: Certificate, actor: User, reason: str) -> Certificate:
    """Revoke a valid certificate with a reason that its public page shows."""
    certificate = lock(certificate)
    reason = reason.strip()
    if not reason:
        raise CertificateError("reason_required", _("Give the reason for the revocation."))
    if certificate.status != "valid":
        raise CertificateError("not_valid", _("Only a valid certificate can be revoked."))
    certificate.status = "revoked"
    certificate.revoked_at = utcnow()
    certificate.revocation_reason = reason
    record_event(certificate, "revoked", actor, reason)
    db.session.flush()
    refresh_certified(certificate.user_id, certificate.course_id)
    return certificate


def refresh_certified(user_id: int, course_id: int) -> None:
    """Keep the enrolment's ``certified`` equal to "holds a valid certificate of the course" (any version),
    which the reports count; call it after any change of a certificate's status."""
    valid = (
        select(Certificate.id)
        .where(Certificate.user_id == user_id, Certificate.course_id == course_id)
        .where(Certificate.status == "valid")
        .exists()
    )
    db.session.execute(
        update(Enrolment)
        .where(Enrolment.user_id == user_id, Enrolment.course_id == course_id)
        .values(certified=valid)
        .execution_options(synchronize_session=False)
    )


def reissue(certificate: Certificate, actor: User, reason: str) -> Certificate:
    """Issue the certificate again under the holder's current profile name, with a new serial and code;
    the old one is kept, superseded, pointing at the new one."""
    certificate = lock(certificate)
    reason = reason.strip()
    if not reason:
        raise CertificateError("reason_required", _("Give the reason for the reissue."))
    if certificate.status != "valid":
        raise CertificateError("not_valid", _("Only a valid certificate can be reissued."))
    if certificate.holder_erased_at is not None:
        raise CertificateError(
            "holder_erased", _("The holder's account is erased: there is no name to reissue to.")
        )
    holder = certificate.user
    if holder.full_name == certificate.holder_name:
        raise CertificateError(
            "name_unchanged",
            _("The holder's profile name is the one on the certificate: correct the profile name first."),
        )
    version = db.session.get(CourseVersion, certificate.course_version_id)
    assert version is not None
    # Leave the unique index first, then take the place: both in this transaction.
    certificate.status = "superseded"
    certificate.superseded_at = utcnow()
    db.session.flush()
    replacement = _insert(holder, certificate.enrolment_id, version, certificate.completed_at)
    if replacement is None:
        raise CertificateError(
            "conflict", _("The certificate was reissued at the same moment; reload the page.")
        )
    certificate.superseded_by_id = replacement.id
    record_event(
        certificate,
        "superseded",
        actor,
        reason,
        old_name=certificate.holder_name,
        replaced_by=replacement.serial,
    )
    record_event(
        replacement, "reissued", actor, reason, new_name=replacement.holder_name, replaces=certificate.serial
    )
    db.session.flush()
    return replacement


def mark_downloaded(certificate_id: int) -> None:
    """Record the holder's first download (later ones change nothing)."""
    db.session.execute(
        update(Certificate)
        .where(Certificate.id == certificate_id, Certificate.downloaded_at.is_(None))
        .values(downloaded_at=utcnow())
    )


def revoked_indexes() -> set[int]:
    """Status-list positions of every credential that no longer stands: revoked or superseded."""
    return set(db.session.scalars(select(Certificate.id).where(Certificate.status != "valid")))


def certificates_of(user: User) -> list[Certificate]:
    """The learner's current certificates, newest first."""
    return list(
        db.session.scalars(
            select(Certificate)
            .where(Certificate.user_id == user.id, Certificate.status != "superseded")
            .order_by(Certificate.issued_at.desc())
        )
    )


def history(certificate: Certificate) -> list[CertificateEvent]:
    """The audit trail of a certificate and of the ones it replaced, oldest first."""
    ids = [certificate.id]
    ids.extend(
        db.session.scalars(
            select(Certificate.id).where(
                Certificate.user_id == certificate.user_id,
                Certificate.course_version_id == certificate.course_version_id,
                Certificate.id != certificate.id,
            )
        )
    )
    return list(
        db.session.scalars(
            select(CertificateEvent)
            .where(CertificateEvent.certificate_id.in_(ids))
            .order_by(CertificateEvent.id)
        )
    )


@dataclass(frozen=True)
class PublicView:
    """What anyone with the code may see: nothing but these fields."""

    status: str
    holder_name: str | None  # None: issued to an account erased since
    course_title: str
    completed_on: datetime
    issued_on: datetime
    serial: str
    revoked_on: datetime | None
    revocation_reason: str | None


def public_view(certificate: Certificate) -> PublicView:
    return PublicView(
        status=certificate.status,
        holder_name=None if certificate.holder_erased_at is not None else certificate.holder_name,
        course_title=certificate.course_title,
        completed_on=certificate.completed_at,
        issued_on=certificate.issued_at,
        serial=certificate.serial,
        revoked_on=certificate.revoked_at,
        revocation_reason=certificate.revocation_reason,
    )


def credential_json(certificate: Certificate) -> dict[str, Any]:
    assert certificate.credential is not None
    return dict(json.loads(certificate.credential))
