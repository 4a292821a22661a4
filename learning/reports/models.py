"""Export jobs and the claims that keep each monthly e-mail to one per user and month."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from learning.db import UTCDateTime, utcnow
from learning.extensions import db

EXPORT_STATUSES = ("pending", "running", "done", "failed")


class ReportExport(db.Model):  # type: ignore[name-defined]
    """A large export prepared by a task: what was asked, how far it got, and where the file is."""

    __tablename__ = "report_exports"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'running', 'done', 'failed')", name="status"),
        CheckConstraint("format IN ('csv', 'xlsx')", name="format"),
        CheckConstraint("rows_done >= 0 AND rows_total >= 0", name="rows"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    report: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    format: Mapped[str] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(10), default="pending", server_default="pending")
    rows_total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rows_done: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    file_name: Mapped[str] = mapped_column(String(200))
    path: Mapped[str | None] = mapped_column(String(300))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<ReportExport {self.id} {self.report}.{self.format} {self.status}>"

    @property
    def percent(self) -> int:
        if self.status == "done":
            return 100
        return 100 * self.rows_done // self.rows_total if self.rows_total else 0


class ReportMailing(db.Model):  # type: ignore[name-defined]
    """The monthly report e-mail to one secretariat user for one month: claimed before it is sent."""

    __tablename__ = "report_mailings"
    __table_args__ = (UniqueConstraint("user_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(7))  # the month reported on, YYYY-MM
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<ReportMailing user={self.user_id} {self.period} sent={self.sent_at}>"
