"""Reading courses and versions for pages and the API, in a fixed number of queries."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from learning.catalog.models import Course, CourseVersion, Lesson, Module
from learning.extensions import db


def published_courses() -> list[Course]:
    """Courses open to learners (active, with a published version), with their current version."""
    return list(
        db.session.scalars(
            select(Course)
            .join(CourseVersion, Course.current_version_id == CourseVersion.id)
            .where(Course.status == "active")
            .options(joinedload(Course.current_version))
            .order_by(CourseVersion.title)
        )
    )


def course_by_slug(slug: str) -> Course | None:
    return db.session.scalar(
        select(Course).where(Course.slug == slug).options(joinedload(Course.current_version))
    )


def version_with_content(version_id: int) -> CourseVersion | None:
    """Load a version with its modules, lessons and quizzes (four queries, whatever their number)."""
    return db.session.scalar(
        select(CourseVersion)
        .where(CourseVersion.id == version_id)
        .options(
            selectinload(CourseVersion.modules)
            .selectinload(Module.lessons)
            .load_only(
                Lesson.id, Lesson.slug, Lesson.title, Lesson.position, Lesson.minutes, Lesson.module_id
            ),
            selectinload(CourseVersion.modules).selectinload(Module.quiz),
        )
    )


def lesson_in_version(version_id: int, slug: str) -> Lesson | None:
    return db.session.scalar(
        select(Lesson)
        .where(Lesson.version_id == version_id, Lesson.slug == slug)
        .options(joinedload(Lesson.module))
    )
