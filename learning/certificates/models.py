"""Certificates, their audit trail, and the e-mail that announces each one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from learning.auth.models import User
from learning.db import UTCDateTime, utcnow
from learning.extensions import db

STATUSES = ("valid", "revoked", "superseded")
EVENT_KINDS = ("issued", "revoked", "superseded", "reissued", "emailed")
CURRENT = "status != 'superseded'"


class Certificate(db.Model):  # type: ignore[name-defined]
    """One certificate: what was printed on it, its signed credential, and its status.

    At most one certificate per learner and course version is current (valid or revoked): a partial unique
    index, which concurrent issuers hit with INSERT ... ON CONFLICT DO NOTHING. A name correction marks the
    old row superseded, which takes it out of the index, and issues a new row with a new serial.
    """

    __tablename__ = "certificates"
    __table_args__ = (
        Index(
            "uq_certificates_current",
            "user_id",
            "course_version_id",
            unique=True,
            postgresql_where=text(CURRENT),
            sqlite_where=text(CURRENT),
        ),
        CheckConstraint("status IN ('valid', 'revoked', 'superseded')", name="status"),
        CheckConstraint("status != 'revoked' OR revoked_at IS NOT NULL", name="revoked_at"),
        CheckConstraint("status != 'superseded' OR superseded_at IS NOT NULL", name="superseded_at"),
        CheckConstraint("hours > 0", name="hours_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(24), unique=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("enrolments.id", ondelete="SET NULL"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="RESTRICT"))
    course_version_id: Mapped[int] = mapped_column(ForeignKey("course_versions.id", ondelete="RESTRICT"))
    # What the certificate says, frozen at issue so that it can be rendered again identically.
    holder_name: Mapped[str] = mapped_column(String(200))
    course_title: Mapped[str] = mapped_column(String(200))
    hours: Mapped[float] = mapped_column(Float)
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(12), default="valid", server_default="valid")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revocation_reason: Mapped[str | None] = mapped_column(Text)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id", ondelete="RESTRICT"))
    # The signed Open Badges 3.0 credential, stored as the exact bytes that were signed.
    credential: Mapped[str | None] = mapped_column(Text)
    key_id: Mapped[str | None] = mapped_column(String(40))
    pdf_key: Mapped[str | None] = mapped_column(String(200))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    # The e-mail announcing it: claimed before sending, a stale claim taken over (RELIABILITY rule 2).
    email_claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The holder's first download (PDF or credential): the reminders' "certificate" rule reads it.
    downloaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The holder's account was erased: the name, PDF and credential are gone; the row still verifies.
    holder_erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    superseded_by: Mapped[Certificate | None] = relationship(
        remote_side=[id], foreign_keys=[superseded_by_id]
    )

    def __repr__(self) -> str:
        return f"<Certificate {self.serial} {self.status}>"

    @property
    def is_valid(self) -> bool:
        return self.status == "valid"

    @property
    def status_index(self) -> int:
        """This certificate's position in the published revocation list."""
        return self.id


class CertificateEvent(db.Model):  # type: ignore[name-defined]
    """The audit trail: every issue, revocation, supersession and reissue, with who and why."""

    __tablename__ = "certificate_events"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('issued', 'revoked', 'superseded', 'reissued', 'emailed')",
            name="kind",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])

    def __repr__(self) -> str:
        return f"<CertificateEvent {self.certificate_id} {self.kind}>"


class IssuingWakeup(db.Model):  # type: ignore[name-defined]
    """One row: when an issuing task was last queued that has not started yet (None: none waits).

    A burst of completions then queues one task rather than one each; that task, finding a full batch,
    queues the next (see services.wake_issuing).
    """

    __tablename__ = "certificate_issuing_wakeup"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
