"""What the lesson page and the lesson API need to know about the learner, read in one statement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import Select, and_, bindparam, select

from learning.auth.models import User
from learning.catalog.models import Course, CourseVersion
from learning.extensions import db
from learning.progress.models import Enrolment, LessonCompletion


@dataclass(frozen=True)
class LessonAccess:
    published: bool  # the course has a current version
    version_id: int | None  # the version the learner studies; None unless their enrolment is active
    version_title: str | None
    completed_at: datetime | None  # when the learner completed the lesson, if they did


def lesson_access(user: User, course_slug: str, lesson_slug: str) -> LessonAccess | None:
    """Return whether the course is published, the version the learner studies in it (if they have an active
    enrolment) with its title, and when they completed ``lesson_slug``; None if there is no such course.

    One statement of plain columns instead of four of objects (course, enrolment, version, completion): the
    lesson is the page learners open most, and each statement costs far more in the application than in the
    database.
    """
    row = db.session.execute(
        _statement(), {"user_id": user.id, "course_slug": course_slug, "lesson_slug": lesson_slug}
    ).one_or_none()
    if row is None:
        return None
    current_version_id, status, version_id, version_title, completed_at = row
    studying = status == "active"
    return LessonAccess(
        published=current_version_id is not None,
        version_id=version_id if studying else None,
        version_title=version_title,
        completed_at=completed_at,
    )


@cache
def _statement() -> Select[int | None, str, int, str, datetime]:
    # Built once, with bound parameters: building a statement and its cache key costs more Python time than
    # running it.
    return (
        select(
            Course.current_version_id,
            Enrolment.status,
            Enrolment.version_id,
            CourseVersion.title,
            LessonCompletion.completed_at,
        )
        .outerjoin(
            Enrolment, and_(Enrolment.course_id == Course.id, Enrolment.user_id == bindparam("user_id"))
        )
        .outerjoin(CourseVersion, CourseVersion.id == Enrolment.version_id)
        .outerjoin(
            LessonCompletion,
            and_(
                LessonCompletion.enrolment_id == Enrolment.id,
                LessonCompletion.lesson_slug == bindparam("lesson_slug"),
            ),
        )
        .where(Course.slug == bindparam("course_slug"))
    )
