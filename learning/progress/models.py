"""Enrolments and what each learner has completed, keyed by stable slugs across versions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from learning.auth.models import User
from learning.catalog.models import Course, CourseVersion
from learning.db import UTCDateTime, utcnow
from learning.extensions import db

# the index's condition as SQLAlchemy writes `completed_version_id IS NOT NULL AND NOT certified` in each
# dialect, so that the planners see that the query's condition implies it
AWAITING_CERTIFICATE = {
    "postgresql": "completed_version_id IS NOT NULL AND NOT certified",
    "sqlite": "completed_version_id IS NOT NULL AND certified = 0",
}


class Enrolment(db.Model):  # type: ignore[name-defined]
    """A learner in a course, with its completion state kept up to date as progress is written."""

    __tablename__ = "enrolments"
    __table_args__ = (
        UniqueConstraint("user_id", "course_id"),
        CheckConstraint("status IN ('active', 'left')", name="status"),
        CheckConstraint("percent BETWEEN 0 AND 100", name="percent"),
        Index("ix_enrolments_course_status", "course_id", "status"),
        # reports select enrolments made, and completions, within a period
        Index("ix_enrolments_enrolled_at", "enrolled_at"),
        Index("ix_enrolments_completed_at", "completed_at"),
        # the completions still waiting for a certificate, which an issuing task takes in batches: few
        # rows, whatever the number of learners (a learner whose certificate was revoked stays in it)
        Index(
            "ix_enrolments_awaiting_certificate",
            "id",
            postgresql_where=text(AWAITING_CERTIFICATE["postgresql"]),
            sqlite_where=text(AWAITING_CERTIFICATE["sqlite"]),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("course_versions.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(10), default="active", server_default="active")
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    halfway_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("course_versions.id", ondelete="RESTRICT")
    )
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    percent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Kept here for the reports, which then aggregate enrolments without joining users or certificates:
    # the learner's country and type of organisation (copied when they enrol or change their profile),
    # and whether they hold a valid certificate of the course (set whenever a certificate changes).
    country: Mapped[str | None] = mapped_column(String(2))
    organisation_type: Mapped[str | None] = mapped_column(String(40))
    certified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    user: Mapped[User] = relationship()
    course: Mapped[Course] = relationship()
    version: Mapped[CourseVersion] = relationship(foreign_keys=[version_id])

    def __repr__(self) -> str:
        return f"<Enrolment user={self.user_id} course={self.course_id} {self.status}>"

    @property
    def is_active(self) -> bool:
        return self.status == "active"


class LessonCompletion(db.Model):  # type: ignore[name-defined]
    __tablename__ = "lesson_completions"

    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("enrolments.id", ondelete="CASCADE"), primary_key=True
    )
    lesson_slug: Mapped[str] = mapped_column(String(80), primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("course_versions.id", ondelete="RESTRICT"))
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<LessonCompletion {self.enrolment_id} {self.lesson_slug}>"


class ModuleState(db.Model):  # type: ignore[name-defined]
    """Per learner and module: the best quiz score, when it was passed, when the module was completed."""

    __tablename__ = "module_states"
    __table_args__ = (CheckConstraint("best_score BETWEEN 0 AND 100", name="best_score"),)

    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("enrolments.id", ondelete="CASCADE"), primary_key=True
    )
    module_slug: Mapped[str] = mapped_column(String(80), primary_key=True)
    best_score: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    quiz_passed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<ModuleState {self.enrolment_id} {self.module_slug}>"


class SyncEvent(db.Model):  # type: ignore[name-defined]
    """An offline client's event, applied once; a resend answers the stored result."""

    __tablename__ = "sync_events"
    __table_args__ = (UniqueConstraint("user_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(String(36))
    type: Mapped[str] = mapped_column(String(20))
    result: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<SyncEvent {self.user_id} {self.client_id}>"
