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
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Connection, bindparam, false, select, text, tuple_, update
from sqlalchemy.orm.attributes import set_committed_value

from learning.auth.models import User
from learning.catalog.models import Course, CourseVersion
from learning.certificates import credential
from learning.certificates.models import CURRENT, Certificate, CertificateEvent, IssuingWakeup
from learning.certificates.pdf import CertificateContent, render_certificate
from learning.db import insert_for, session_bind, utcnow, write_in_this_request
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


@dataclass(frozen=True)
class Completion:
    """What a certificate is issued from: the holder, their enrolment (None for a reissue that lost it),
    the course version completed and when."""

    user: User
    enrolment_id: int | None
    version: CourseVersion
    completed_at: datetime


def _insert_many(completions: list[Completion]) -> list[Certificate]:
    """Insert a certificate for each completion whose learner has no current one for its version (one
    multi-row INSERT ... ON CONFLICT DO NOTHING), sign their credentials, and record their events; returns
    the certificates inserted, without those another worker had already inserted."""
    if not completions:
        return []
    now = utcnow()
    rows = [
        {
            "serial": new_serial(),
            "code": new_code(),
            "user_id": c.user.id,
            "enrolment_id": c.enrolment_id,
            "course_id": c.version.course_id,
            "course_version_id": c.version.id,
            "holder_name": c.user.full_name,
            "course_title": c.version.title,
            "hours": c.version.hours,
            "completed_at": c.completed_at,
            "issued_at": now,
            "status": "valid",
        }
        for c in completions
    ]
    stmt = (
        insert_for(Certificate)
        .on_conflict_do_nothing(
            index_elements=[Certificate.user_id, Certificate.course_version_id], index_where=text(CURRENT)
        )
        .returning(Certificate)
    )
    certificates = list(db.session.scalars(stmt, rows))
    by_key = {(c.user.id, c.version.id): c for c in completions}
    for certificate in certificates:
        completion = by_key[(certificate.user_id, certificate.course_version_id)]
        _with_holder(certificate, completion.user)
        version = completion.version
        certificate.credential, certificate.key_id = credential.signed_credential(
            _facts(certificate, version.course, version)
        )
    if certificates:  # each learner's enrolment in the course now holds a valid one (see refresh_certified)
        db.session.execute(
            update(Enrolment)
            .where(
                tuple_(Enrolment.user_id, Enrolment.course_id).in_(
                    [(c.user_id, c.course_id) for c in certificates]
                )
            )
            .values(certified=True)
            .execution_options(synchronize_session=False)
        )
    db.session.flush()
    return certificates


def _insert(
    user: User, enrolment_id: int | None, version: CourseVersion, completed_at: datetime
) -> Certificate | None:
    """Insert a certificate unless the learner has a current one for this version; None on conflict."""
    inserted = _insert_many([Completion(user, enrolment_id, version, completed_at)])
    return inserted[0] if inserted else None


def _has_current_certificate() -> Any:
    """EXISTS: the enrolment's learner holds a current certificate of the version they completed."""
    return (
        select(Certificate.id)
        .where(
            Certificate.user_id == Enrolment.user_id,
            Certificate.course_version_id == Enrolment.completed_version_id,
            Certificate.status != "superseded",
        )
        .exists()
    )


def wake_issuing() -> bool:
    """Record that an issuing task is being queued, unless one queued less than CERTIFICATE_WAKEUP_SECONDS
    ago has not started yet: True when the caller is to queue it. Past that time a queued task is taken
    for lost (a duplicate finds nothing to do, and the sweep finds what a lost task left). Called after a
    completion's commit, in a short transaction of its own (the session's has ended).

    A completion that finds a task waiting is in that task's reach: the task clears the mark and commits
    before it selects the completions waiting, so it sees every completion committed before the mark was
    read (see issue_pending).
    """
    now = utcnow()
    stale = now - timedelta(seconds=float(current_app.config["CERTIFICATE_WAKEUP_SECONDS"]))
    table = IssuingWakeup.__table__
    bind = session_bind()  # the session's transaction has ended
    statement = (
        insert_for(table)
        .values(id=1, queued_at=now)
        .on_conflict_do_update(
            index_elements=[table.c.id],
            set_={"queued_at": now},
            where=table.c.queued_at.is_(None) | (table.c.queued_at < stale),
        )
        .returning(table.c.id)
    )
    if isinstance(bind, Connection):
        return bind.execute(statement).first() is not None
    write_in_this_request()
    with bind.begin() as connection:
        return connection.execute(statement).first() is not None


def issuing_started() -> None:
    """Clear the mark of a queued issuing task (the task has started); the caller commits before it
    selects the completions waiting."""
    db.session.execute(
        update(IssuingWakeup).values(queued_at=None).execution_options(synchronize_session=False)
    )


class Batch(NamedTuple):
    certificates: list[Certificate]
    full: bool  # as many completions as asked for: more may be waiting


def issue_pending(first: int | None, size: int) -> Batch:
    """Issue the certificates of completed enrolment ``first`` (if it has none yet) and of other
    completions that have none, ``size`` in all at most, and record an event for each.

    A burst of completions queues one task (wake_issuing), and a task that takes a full batch queues the
    next, so that the other worker processes take the next batches while this one renders. The
    enrolments are locked with SKIP LOCKED on PostgreSQL, so that two workers take different ones rather
    than wait for each other; the unique key still settles any overlap (SQLite has one writer at a time).
    """
    own = Enrolment.id == first if first is not None else false()
    order = (Enrolment.id != first, Enrolment.id) if first is not None else (Enrolment.id,)
    rows = db.session.execute(
        # the Course too, held by ``rows``, so that signing reads version.course without a query each
        select(Enrolment.id, Enrolment.completed_at, User, CourseVersion, Course)
        .join(User, User.id == Enrolment.user_id)
        .join(CourseVersion, CourseVersion.id == Enrolment.completed_version_id)
        .join(Course, Course.id == CourseVersion.course_id)
        .where(
            # its own, and those in the small index of completions awaiting a certificate
            own | (Enrolment.completed_version_id.is_not(None) & ~Enrolment.certified),
            Enrolment.completed_at.is_not(None),
            User.erased_at.is_(None),
            ~_has_current_certificate(),
        )
        .order_by(*order)
        .limit(size)
        .with_for_update(of=Enrolment, skip_locked=True)
    ).all()
    completions = [Completion(user, eid, version, at) for eid, at, user, version, _ in rows if at is not None]
    certificates = _insert_many(completions)
    _record_issued(certificates)
    return Batch(certificates, full=len(rows) == size)


def _record_issued(certificates: list[Certificate]) -> None:
    for certificate in certificates:
        record_event(certificate, "issued", serial=certificate.serial)
        logger.info("issued certificate %s for enrolment %s", certificate.serial, certificate.enrolment_id)


def unfinished(certificate_id: int) -> Certificate | None:
    """A valid certificate, with its holder, if its PDF is still to be made or its e-mail still to be sent;
    None if there is nothing left to do (or no name: the holder's account was erased)."""
    row = db.session.execute(
        select(Certificate, User)
        .join(User, User.id == Certificate.user_id)
        .where(
            Certificate.id == certificate_id,
            Certificate.status == "valid",
            Certificate.holder_erased_at.is_(None),
        )
    ).one_or_none()
    if row is None:
        return None
    certificate, user = row
    announced = certificate.email_sent_at is not None or certificate.email_failed_at is not None
    if announced and not needs_pdf(certificate):
        return None
    return _with_holder(certificate, user)


def needs_pdf(certificate: Certificate) -> bool:
    """Whether the PDF is still to be made: never rendered, or its file lost."""
    return certificate.pdf_key is None or not storage().exists(certificate.pdf_key)


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
    _record_issued([certificate])
    return certificate


def _with_holder(certificate: Certificate, user: User) -> Certificate:
    # The session holds loaded rows weakly: without this, the user loaded above would be gone when the
    # caller reads certificate.user, and it would be selected again.
    set_committed_value(certificate, "user", user)
    return certificate


def never_issued(limit: int = 500) -> list[int]:
    """Completed enrolments without a current certificate, completed before the lease: their task was
    lost before it ran (the normal path is quicker; the sweep only picks up what it lost)."""
    return list(
        db.session.scalars(
            select(Enrolment.id)
            .where(
                Enrolment.completed_version_id.is_not(None),
                Enrolment.completed_at < utcnow() - current_app.config["CERTIFICATE_EMAIL_LEASE"],
                ~_has_current_certificate(),
                ~Enrolment.user_id.in_(select(User.id).where(User.erased_at.is_not(None))),
            )
            .order_by(Enrolment.id)
            .limit(limit)
        )
    )


def unrendered(limit: int = 500) -> list[int]:
    """Valid certificates still without a PDF after the lease: the task that issued them died between its
    issuing commit and the rendering."""
    stale = utcnow() - current_app.config["CERTIFICATE_EMAIL_LEASE"]
    return list(
        db.session.scalars(
            select(Certificate.id)
            .where(
                Certificate.status == "valid",
                Certificate.pdf_key.is_(None),
                Certificate.holder_erased_at.is_(None),
                Certificate.issued_at < stale,
            )
            .order_by(Certificate.id)
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


def render_file(serial: str, content: CertificateContent) -> tuple[str, bytes]:
    """Render a certificate and keep the file under a key made of its serial (the same file if rendered
    again); returns the key and the PDF. Recorded on the row by record_pdfs."""
    rendered = render_certificate(content)
    if rendered.missing:
        logger.error(
            "certificate %s: no bundled font has %s; add a font for that script",
            serial,
            ", ".join(f"U+{ord(ch[0]):04X}" for ch in rendered.missing),
        )
    key = f"certificates/{serial.lower()}.pdf"
    storage(durable=False).save(key, rendered.data)  # pdf_bytes checks the digest and renders again
    return key, rendered.data


def record_pdfs(files: dict[int, tuple[str, bytes]]) -> None:
    """Record stored PDFs (certificate id: key and data) on their rows, in one statement; a file whose
    holder's account was erased while it was rendered is deleted, and no name stays."""
    if not files:
        return
    table = Certificate.__table__
    db.session.execute(
        update(table)
        .where(table.c.id == bindparam("certificate_id"), table.c.holder_erased_at.is_(None))
        .values(pdf_key=bindparam("key"), pdf_sha256=bindparam("sha256")),
        [
            {"certificate_id": cid, "key": key, "sha256": hashlib.sha256(data).hexdigest()}
            for cid, (key, data) in files.items()
        ],
    )
    erased = db.session.scalars(
        select(Certificate.id).where(Certificate.id.in_(files), Certificate.holder_erased_at.is_not(None))
    )
    for certificate_id in erased:
        storage(durable=False).delete(files[certificate_id][0])


def render_and_store(certificate_id: int, serial: str, content: CertificateContent) -> bytes:
    """Render a certificate, keep the file and record its key and digest; idempotent."""
    key, data = render_file(serial, content)
    record_pdfs({certificate_id: (key, data)})
    return data


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
