"""What every report query shares: the population of enrolments and its filters, certificates, and the
titles of courses and modules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Integer, and_, any_, bindparam, case, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import FromClause

from learning.auth.models import User
from learning.catalog.models import Course, CourseVersion, Module
from learning.certificates.models import Certificate
from learning.cohorts.models import Cohort, CohortMember
from learning.db import dialect_name
from learning.extensions import db
from learning.progress.models import Enrolment, ModuleState
from learning.reports.filters import Filters

E = Enrolment.__table__
U = User.__table__
MS = ModuleState.__table__
CERTS = Certificate.__table__
CM = CohortMember.__table__
COHORTS = Cohort.__table__
NOT_STATED = _l("Not stated")


# --- shared pieces --------------------------------------------------------------------------------------


def month_of(column: Any) -> ColumnElement[str]:
    """The UTC month of a timestamp as YYYY-MM."""
    if dialect_name() == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.strftime("%Y-%m", column)


def conditions(f: Filters, dated: Any = E.c.enrolled_at) -> list[ColumnElement[bool]]:
    """WHERE clauses over enrolments (E), joined with users (U) when ``f.organisation`` is set (see
    enrolment_population()); the period applies to ``dated``."""
    where: list[ColumnElement[bool]] = []
    if f.course_id is not None:
        where.append(E.c.course_id == f.course_id)
    if f.version_id is not None:
        where.append(E.c.version_id == f.version_id)
    if f.country:
        where.append(E.c.country == f.country)
    if f.organisation_type:
        where.append(E.c.organisation_type == f.organisation_type)
    if f.organisation:  # kept only on the learner: see enrolment_population()
        where.append(U.c.organisation == f.organisation)
    if f.cohort_id is not None:
        where.append(E.c.course_id == f.cohort_course_id)
        where.append(E.c.user_id.in_(select(CM.c.user_id).where(CM.c.cohort_id == f.cohort_id)))
    if dated is not None and f.start is not None:
        where.append(dated >= f.start)
    if dated is not None and f.end is not None:
        where.append(dated < f.end)
    if dated is not None and dated is not E.c.enrolled_at:
        where.append(dated.is_not(None))
    return where


def id_in(column: Any, ids: list[int]) -> ColumnElement[bool]:
    """``column`` is one of ``ids``: one array parameter on PostgreSQL (a list of thousands of parameters
    costs psycopg more than the query), an IN list elsewhere."""
    if dialect_name() == "postgresql":
        return column == any_(bindparam("ids", ids, type_=postgresql.ARRAY(Integer)))
    return column.in_(ids)


def population() -> FromClause:
    """Enrolments with their learners, for the reports that show or count learners' own fields."""
    return E.join(U, U.c.id == E.c.user_id)


def enrolment_population(f: Filters) -> FromClause:
    """Enrolments alone, for the aggregate reports: country, type of organisation and whether the learner
    is certified are kept on each enrolment, so only a filter on the organisation needs the learners."""
    return population() if f.organisation else E


def certified_count() -> ColumnElement[int]:
    """COUNT of the enrolments whose learner holds a valid certificate of the course (any version)."""
    return func.count(case((E.c.certified, 1)))


@dataclass(frozen=True)
class CourseInfo:
    id: int
    slug: str
    title: str
    archived: bool

    @property
    def label(self) -> str:
        return _("%(title)s (archived)", title=self.title) if self.archived else self.title


def courses() -> dict[int, CourseInfo]:
    """Every course with the title of its current version (or its latest, if it has none)."""
    latest = (
        select(CourseVersion.course_id, func.max(CourseVersion.number).label("number"))
        .where(CourseVersion.published_at.is_not(None))
        .group_by(CourseVersion.course_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Course.id, Course.slug, Course.status, CourseVersion.title)
        .join(latest, latest.c.course_id == Course.id)
        .join(
            CourseVersion,
            and_(CourseVersion.course_id == Course.id, CourseVersion.number == latest.c.number),
        )
    )
    return {cid: CourseInfo(cid, slug, title, status == "archived") for cid, slug, status, title in rows}


@dataclass(frozen=True)
class ModuleInfo:
    course_id: int
    slug: str
    title: str
    position: int
    has_quiz: bool


def modules() -> list[ModuleInfo]:
    """Every module of every course, titled and ordered as in the newest published version that has it."""
    from learning.quizzes.models import Quiz

    rows = db.session.execute(
        select(
            CourseVersion.course_id,
            CourseVersion.number,
            Module.slug,
            Module.title,
            Module.position,
            Quiz.id.is_not(None),
        )
        .join(Module, Module.version_id == CourseVersion.id)
        .outerjoin(Quiz, Quiz.module_id == Module.id)
        .where(CourseVersion.published_at.is_not(None))
        .order_by(CourseVersion.course_id, CourseVersion.number.desc(), Module.position)
    )
    newest: dict[tuple[int, str], ModuleInfo] = {}
    newest_number: dict[int, int] = {}
    for course_id, number, slug, title, position, has_quiz in rows:
        newest_number.setdefault(course_id, number)
        if (course_id, slug) not in newest:
            # modules dropped from the course sort after the current ones
            rank = position if number == newest_number[course_id] else 1000 + position
            newest[(course_id, slug)] = ModuleInfo(course_id, slug, title, rank, bool(has_quiz))
    return sorted(newest.values(), key=lambda m: (m.course_id, m.position, m.slug))


def certificate_conditions(f: Filters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [CERTS.c.status == "valid"]
    for column, value in (
        (CERTS.c.course_id, f.course_id),
        (CERTS.c.course_version_id, f.version_id),
        (U.c.country, f.country),
        (U.c.organisation_type, f.organisation_type),
        (U.c.organisation, f.organisation),
    ):
        if value:
            where.append(column == value)
    if f.cohort_id is not None:
        where.append(CERTS.c.course_id == f.cohort_course_id)
        where.append(CERTS.c.user_id.in_(select(CM.c.user_id).where(CM.c.cohort_id == f.cohort_id)))
    if f.start is not None:
        where.append(CERTS.c.issued_at >= f.start)
    if f.end is not None:
        where.append(CERTS.c.issued_at < f.end)
    return where
