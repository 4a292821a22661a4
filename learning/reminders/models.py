"""What was decided and what was sent: every reminder has a unique key, every day's e-mail a row."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from learning.auth.models import User
from learning.db import UTCDateTime, utcnow
from learning.extensions import db

RULES = ("inactivity", "deadline", "certificate", "quiz_failed")
ALL = "all"  # an opt-out from every rule
BUNDLE_STATUSES = ("pending", "sending", "sent", "failed", "cancelled", "expired")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class ReminderOptOut(db.Model):  # type: ignore[name-defined]
    """A learner does not want reminders of ``rule`` (or of any rule: ``all``)."""

    __tablename__ = "reminder_opt_outs"
    __table_args__ = (CheckConstraint(_in("rule", (*RULES, ALL)), name="rule"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    rule: Mapped[str] = mapped_column(String(20), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<ReminderOptOut user={self.user_id} {self.rule}>"


class ReminderBundle(db.Model):  # type: ignore[name-defined]
    """The one reminder e-mail a learner may get on a day of their own calendar."""

    __tablename__ = "reminder_bundles"
    __table_args__ = (
        UniqueConstraint("user_id", "local_date"),
        CheckConstraint(_in("status", BUNDLE_STATUSES), name="status"),
        CheckConstraint("attempts >= 0", name="attempts"),
        Index("ix_reminder_bundles_status_local_date", "status", "local_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    local_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the scan time that found it due
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
    sendings: Mapped[list[ReminderSending]] = relationship(
        back_populates="bundle", order_by="ReminderSending.id"
    )

    def __repr__(self) -> str:
        return f"<ReminderBundle {self.id} user={self.user_id} {self.local_date} {self.status}>"


class ReminderSending(db.Model):  # type: ignore[name-defined]
    """One reminder decided for a learner: its key (learner, rule, course, subject, period) is unique,
    so that however often the scan runs, the same reminder is decided once."""

    __tablename__ = "reminder_sendings"
    __table_args__ = (
        UniqueConstraint("user_id", "rule", "course_id", "subject", "period"),
        CheckConstraint(_in("rule", RULES), name="rule"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    rule: Mapped[str] = mapped_column(String(20))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    # what in the course it is about: "course", "cohort:<id>", "module:<slug>", "certificate:<id>"
    subject: Mapped[str] = mapped_column(String(120))
    # which occurrence: the local date (inactivity), "<due date>/<stage>" (deadline), "once"
    period: Mapped[str] = mapped_column(String(40))
    local_date: Mapped[date] = mapped_column(Date)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    bundle_id: Mapped[int | None] = mapped_column(
        ForeignKey("reminder_bundles.id", ondelete="CASCADE"), index=True
    )

    bundle: Mapped[ReminderBundle | None] = relationship(back_populates="sendings")

    def __repr__(self) -> str:
        return f"<ReminderSending {self.id} user={self.user_id} {self.rule} {self.subject} {self.period}>"
