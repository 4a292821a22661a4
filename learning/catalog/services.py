"""Reading courses and versions for pages and the API, in a fixed number of queries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

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


@dataclass(frozen=True)
class ModuleContent:
    slug: str
    title: str
    reflection_html: str
    references_html: Mapping[str, str]


@dataclass(frozen=True)
class LessonContent:
    """A lesson as its page and the API show it, with the parts of its module they show."""

    slug: str
    title: str
    minutes: int
    html: str
    module: ModuleContent


def lesson_in_version(version_id: int, slug: str) -> LessonContent | None:
    """Return a lesson of a published version, or None if the version has no such lesson.

    A version's lessons never change once it is built, so each is read once per process and kept, like
    the outline (learning.progress.services.outline): the lesson page and the API make one query fewer.
    """
    try:
        return _lesson_cached(version_id, slug)
    except LookupError:
        return None  # not cached, so that requests for made-up slugs cannot push real lessons out


@lru_cache(maxsize=512)
def _lesson_cached(version_id: int, slug: str) -> LessonContent:
    lesson = db.session.scalar(
        select(Lesson)
        .where(Lesson.version_id == version_id, Lesson.slug == slug)
        .options(joinedload(Lesson.module))
    )
    if lesson is None:
        raise LookupError(slug)
    module = lesson.module
    return LessonContent(
        slug=lesson.slug,
        title=lesson.title,
        minutes=lesson.minutes,
        html=lesson.html,
        module=ModuleContent(
            slug=module.slug,
            title=module.title,
            reflection_html=module.reflection_html,
            references_html=MappingProxyType(dict(module.references_html)),
        ),
    )


def clear_lesson_cache() -> None:
    """Forget cached lessons (tests that roll back may reuse version ids)."""
    _lesson_cached.cache_clear()
