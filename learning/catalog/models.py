"""Courses and their immutable versions: modules, lessons (quizzes live in learning.quizzes)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from learning.db import UTCDateTime, utcnow
from learning.extensions import db

if TYPE_CHECKING:
    from learning.quizzes.models import Quiz


class Course(db.Model):  # type: ignore[name-defined]
    """A course's stable identity; what learners study is its current published version."""

    __tablename__ = "courses"
    __table_args__ = (CheckConstraint("status IN ('active', 'archived')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    status: Mapped[str] = mapped_column(String(10), default="active", server_default="active")
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("course_versions.id", use_alter=True, ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    current_version: Mapped[CourseVersion | None] = relationship(foreign_keys=[current_version_id])

    def __repr__(self) -> str:
        return f"<Course {self.slug}>"

    @property
    def is_archived(self) -> bool:
        return self.status == "archived"


class CourseVersion(db.Model):  # type: ignore[name-defined]
    """One immutable, numbered version of a course's material (a draft until published)."""

    __tablename__ = "course_versions"
    __table_args__ = (
        UniqueConstraint("course_id", "number"),
        CheckConstraint("number > 0", name="number_positive"),
        CheckConstraint("hours > 0", name="hours_positive"),
        CheckConstraint("origin IN ('files', 'web', 'bundle')", name="origin"),
        # at most one draft (unpublished version) per course
        Index(
            "uq_course_versions_one_draft",
            "course_id",
            unique=True,
            sqlite_where=text("published_at IS NULL"),
            postgresql_where=text("published_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    description_html: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(16))
    hours: Mapped[float] = mapped_column(Float)
    capstone: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    source_hash: Mapped[str] = mapped_column(String(64))
    # The version's source in the content format ({path: text}): what is exported, and what a draft edits.
    # Deferred: it holds the whole course's text (hundreds of KB), which only authoring and exports read,
    # and every page that loads a course's current version would otherwise fetch and parse it.
    files: Mapped[dict[str, str]] = mapped_column(JSON, default=dict, server_default="{}", deferred=True)
    origin: Mapped[str] = mapped_column(String(10), default="files", server_default="files")
    change_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    course: Mapped[Course] = relationship(foreign_keys=[course_id])
    modules: Mapped[list[Module]] = relationship(
        back_populates="version", order_by="Module.position", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<CourseVersion {self.course_id} v{self.number}>"

    # set by publishing: how many learners moved to this version (not a column)
    moved_enrolments = 0

    @property
    def is_draft(self) -> bool:
        return self.published_at is None


class CourseMember(db.Model):  # type: ignore[name-defined]
    """A trainer who may edit a course: its owners and co-authors (admins assign them)."""

    __tablename__ = "course_members"
    __table_args__ = (CheckConstraint("role IN ('owner', 'co_author')", name="role"),)

    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(10))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<CourseMember course={self.course_id} user={self.user_id} {self.role}>"


class Module(db.Model):  # type: ignore[name-defined]
    __tablename__ = "modules"
    __table_args__ = (UniqueConstraint("version_id", "slug"), UniqueConstraint("version_id", "position"))

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("course_versions.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    objectives: Mapped[list[str]] = mapped_column(JSON)
    case_studies: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    reflection_html: Mapped[str] = mapped_column(Text)
    references: Mapped[dict[str, str]] = mapped_column(JSON)
    references_html: Mapped[dict[str, str]] = mapped_column(JSON)

    version: Mapped[CourseVersion] = relationship(back_populates="modules")
    lessons: Mapped[list[Lesson]] = relationship(
        back_populates="module", order_by="Lesson.position", cascade="all, delete-orphan"
    )
    quiz: Mapped[Quiz | None] = relationship(back_populates="module", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<Module {self.slug}>"


class Lesson(db.Model):  # type: ignore[name-defined]
    """A lesson; ``html`` is rendered and sanitized once, when the material is loaded."""

    __tablename__ = "lessons"
    __table_args__ = (UniqueConstraint("version_id", "slug"), UniqueConstraint("version_id", "position"))

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("course_versions.id", ondelete="CASCADE"))
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    html: Mapped[str] = mapped_column(Text)
    word_count: Mapped[int] = mapped_column(Integer)
    minutes: Mapped[int] = mapped_column(Integer)

    module: Mapped[Module] = relationship(back_populates="lessons")

    def __repr__(self) -> str:
        return f"<Lesson {self.slug}>"
