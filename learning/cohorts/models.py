"""Cohorts, their members and invitations (trainers manage them under /authoring; reminders read the
due dates)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from learning.catalog.models import Course
from learning.db import UTCDateTime, utcnow
from learning.extensions import db


class Cohort(db.Model):  # type: ignore[name-defined]
    """A group of learners taking one course together, due by a date in each learner's own calendar."""

    __tablename__ = "cohorts"
    __table_args__ = (CheckConstraint("starts_on <= due_on", name="starts_before_due"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    course: Mapped[Course] = relationship()

    def __repr__(self) -> str:
        return f"<Cohort {self.id} {self.name!r} due {self.due_on}>"


class CohortMember(db.Model):  # type: ignore[name-defined]
    __tablename__ = "cohort_members"

    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<CohortMember cohort={self.cohort_id} user={self.user_id}>"


class CohortInvitation(db.Model):  # type: ignore[name-defined]
    """An invitation to join a cohort, for someone without an account; its link works once."""

    __tablename__ = "cohort_invitations"
    __table_args__ = (UniqueConstraint("cohort_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    cohort: Mapped[Cohort] = relationship()

    def __repr__(self) -> str:
        return f"<CohortInvitation cohort={self.cohort_id} {self.email}>"
