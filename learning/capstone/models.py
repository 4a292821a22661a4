"""One capstone submission per enrolment, and each round of its review."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from learning.db import UTCDateTime, utcnow
from learning.extensions import db
from learning.progress.models import Enrolment

STATUSES = ("draft", "submitted", "returned", "accepted")
DECISIONS = ("accepted", "returned")


class CapstoneSubmission(db.Model):  # type: ignore[name-defined]
    __tablename__ = "capstone_submissions"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'submitted', 'returned', 'accepted')", name="status"),
        CheckConstraint("attachment_size IS NULL OR attachment_size >= 0", name="attachment_size"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"), unique=True)
    # {section slug: the learner's text}
    sections: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
    attachment_key: Mapped[str | None] = mapped_column(String(200))
    attachment_name: Mapped[str | None] = mapped_column(String(200))
    attachment_type: Mapped[str | None] = mapped_column(String(100))
    attachment_size: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="draft", server_default="draft")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    shareable_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    enrolment: Mapped[Enrolment] = relationship()
    reviews: Mapped[list[CapstoneReview]] = relationship(
        back_populates="submission", order_by="CapstoneReview.id", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<CapstoneSubmission enrolment={self.enrolment_id} {self.status}>"

    @property
    def is_editable(self) -> bool:
        return self.status in ("draft", "returned")


class CapstoneReview(db.Model):  # type: ignore[name-defined]
    """One round: the trainer's decision on a submitted plan and their comment."""

    __tablename__ = "capstone_reviews"
    __table_args__ = (CheckConstraint("decision IN ('accepted', 'returned')", name="decision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("capstone_submissions.id", ondelete="CASCADE"), index=True
    )
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decision: Mapped[str] = mapped_column(String(10))
    comment: Mapped[str] = mapped_column(Text, default="", server_default="")
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    submission: Mapped[CapstoneSubmission] = relationship(back_populates="reviews")

    def __repr__(self) -> str:
        return f"<CapstoneReview {self.submission_id} {self.decision}>"
