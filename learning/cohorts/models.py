"""Cohorts and their members. The trainer's pages for them come with the authoring work; reminders
already read the due dates."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, String
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
