"""What the lesson page and the lesson API need to know, read with the learner's credential in one statement.

The lesson is the page learners open most, and each statement costs far more in the application than in the
database. So the web session's (or the bearer token's) check and the learner's course, enrolment, version
title and completion time come in one statement of one row: the credential is checked against the database on
every request, as before (nothing about the learner is kept between requests), only no longer on its own.
The user comes as a ``RequestUser`` of plain columns (with the roles the menu asks for), not an ORM object,
and the statement runs on the DBAPI cursor (``learning.db.RawSelect``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Select, and_, bindparam, func, select

from learning.auth.login import RequestUser
from learning.auth.models import ApiToken, LoginSession, User, UserRole
from learning.auth.services import token_hash
from learning.catalog.models import Course, CourseVersion
from learning.db import RawSelect, utcnow
from learning.progress.models import Enrolment, LessonCompletion

Credential = Literal["session", "token"]


@dataclass(frozen=True)
class LessonAccess:
    published: bool  # the course exists and has a current version
    version_id: int | None  # the version the learner studies; None unless their enrolment is active
    version_title: str | None
    completed_at: datetime | None  # when the learner completed the lesson, if they did


def lesson_access(
    credential: Credential, secret: str, course_slug: str, lesson_slug: str
) -> tuple[RequestUser, LessonAccess] | None:
    """Return the active user of a live web session (``credential="session"``, ``secret`` the session's key)
    or API token (``"token"``, the bearer token) with what they may see of ``lesson_slug`` in ``course_slug``;
    None when the session or token is not live (unknown, revoked, expired, or its user deactivated).
    """
    parameters = {
        "hash": token_hash(secret),
        "now": utcnow(),
        "course_slug": course_slug,
        "lesson_slug": lesson_slug,
    }
    row = _STATEMENTS[credential].one_or_none(**parameters)
    if row is None:
        return None
    user_id, language, timezone, roles = row[:4]
    current_version_id, status, version_id, version_title, completed_at = row[4:]
    user = RequestUser(
        id=user_id,
        language=language,
        timezone=timezone,
        roles=frozenset(roles.split()) if roles else frozenset(),
        session_key=secret if credential == "session" else None,
    )
    return user, LessonAccess(
        published=current_version_id is not None,
        version_id=version_id if status == "active" else None,
        version_title=version_title,
        completed_at=completed_at,
    )


def _statement(credential: Credential) -> Select[Any]:
    # Compiled once per credential and dialect, with bound parameters. Plain columns: no ORM objects to
    # build for a page that only shows them. The course is joined whatever the credential finds, so a live
    # credential always gives one row: course columns NULL for an unknown course, enrolment columns NULL for
    # a learner who never enrolled.
    table: type[LoginSession] | type[ApiToken] = LoginSession if credential == "session" else ApiToken
    secret_hash = LoginSession.key_hash if credential == "session" else ApiToken.token_hash
    roles = select(func.aggregate_strings(UserRole.role, " ")).where(UserRole.user_id == User.id)
    return (
        select(
            User.id,
            User.language,
            User.timezone,
            roles.scalar_subquery(),
            Course.current_version_id,
            Enrolment.status,
            Enrolment.version_id,
            CourseVersion.title,
            LessonCompletion.completed_at,
        )
        .select_from(table)
        .join(User, User.id == table.user_id)
        .outerjoin(Course, Course.slug == bindparam("course_slug"))
        .outerjoin(Enrolment, and_(Enrolment.course_id == Course.id, Enrolment.user_id == User.id))
        .outerjoin(CourseVersion, CourseVersion.id == Enrolment.version_id)
        .outerjoin(
            LessonCompletion,
            and_(
                LessonCompletion.enrolment_id == Enrolment.id,
                LessonCompletion.lesson_slug == bindparam("lesson_slug"),
            ),
        )
        .where(
            secret_hash == bindparam("hash"),
            table.revoked_at.is_(None),
            table.expires_at > bindparam("now"),
            User.active.is_(True),
        )
    )


_STATEMENTS = {
    "session": RawSelect(lambda: _statement("session")),
    "token": RawSelect(lambda: _statement("token")),
}
