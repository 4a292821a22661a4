"""The reminder rules as set-based SELECTs: each returns every due (learner, course, subject, period)
for one local date at once, so the scan makes the same number of queries for ten learners or 100,000.

Every rule selects only learners whose time zone is in its morning now (``Window.zones``), who are
active, have not opted out of the rule (or of all), have no reminder e-mail yet on that local date, and
whose enrolment is active in a course that is not archived; every rule but "certificate" also skips
learners who have completed the course.
"""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    MetaData,
    Select,
    String,
    Table,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
)

from learning.auth.models import User
from learning.catalog.models import Course, Module
from learning.cohorts.models import Cohort, CohortMember
from learning.progress.models import Enrolment, ModuleState
from learning.quizzes.models import Quiz
from learning.reminders.models import ALL, ReminderBundle, ReminderOptOut, ReminderSending

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    """The rules' parameters (config keys REMINDER_*)."""

    inactivity_days: int = 7  # first reminder after N days without activity
    inactivity_repeat_days: int = 7  # then again every M days
    inactivity_max: int = 3  # at most K times per spell of inactivity
    quiz_wait_days: int = 1  # a learner who failed a quiz twice gets a day to retry alone
    deadline_days: tuple[int, ...] = (7, 1)  # before a cohort's due date, in the learner's calendar
    certificate_wait_days: int = 3  # after the certificate's own e-mail, before a nudge to download it
    morning: tuple[int, int] = (8, 11)  # local hours [start, end) in which reminders go out


@dataclass(frozen=True)
class Window:
    """One local calendar date and the time zones in which it is now morning."""

    local_date: date
    zones: tuple[str, ...]


@lru_cache(maxsize=1024)
def _zone(name: str) -> zoneinfo.ZoneInfo | None:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def morning_windows(as_of: datetime, zones: Iterable[str], morning: tuple[int, int]) -> list[Window]:
    """Group ``zones`` in which ``as_of`` falls in the local morning by their local date.

    zoneinfo applies each zone's offset at that instant, daylight saving time included; at most two
    local dates are in their morning at once (the zones span UTC-12 to UTC+14).
    """
    start, end = morning
    by_date: dict[date, list[str]] = {}
    for name in zones:
        zone = _zone(name)
        if zone is None:
            logger.warning("unknown time zone %r: its learners get no reminders", name)
            continue
        local = as_of.astimezone(zone)
        if start <= local.hour < end:
            by_date.setdefault(local.date(), []).append(name)
    return [Window(day, tuple(sorted(names))) for day, names in sorted(by_date.items())]


def zones_in_use() -> Select[str]:
    return select(User.timezone).where(User.active.is_(True)).distinct()


def _opted_out(rule: str) -> ColumnElement[bool]:
    return exists().where(ReminderOptOut.user_id == User.id, ReminderOptOut.rule.in_((rule, ALL)))


def _eligible(rule: str, window: Window, *, completed_ok: bool = False) -> list[ColumnElement[bool]]:
    """The conditions every rule shares; the query joins Enrolment, User and Course."""
    conditions = [
        User.active.is_(True),
        User.timezone.in_(window.zones),
        ~_opted_out(rule),
        ~exists().where(ReminderBundle.user_id == User.id, ReminderBundle.local_date == window.local_date),
        Enrolment.status == "active",
        Course.status == "active",
    ]
    if not completed_ok:
        conditions.append(Enrolment.completed_at.is_(None))
    return conditions


def _enrolments() -> Select[int, int]:
    return (
        select(Enrolment.user_id, Enrolment.course_id)
        .join(User, User.id == Enrolment.user_id)
        .join(Course, Course.id == Enrolment.course_id)
    )


def inactivity(window: Window, as_of: datetime, settings: Settings) -> Select[*tuple[Any, ...]]:
    """Enrolled, not complete, no activity for N days; again every M days; at most K times.

    A spell of inactivity starts at the last activity (or the enrolment); reminders decided after it
    count towards K, so a learner who comes back and drifts away again starts afresh.
    """
    anchor = func.coalesce(Enrolment.last_activity_at, Enrolment.enrolled_at)
    previous = ReminderSending.__table__.alias("previous")
    sent = func.count(previous.c.id)
    return (
        _enrolments()
        .add_columns(literal("course"), literal(window.local_date.isoformat()))
        .outerjoin(
            previous,
            and_(
                previous.c.user_id == Enrolment.user_id,
                previous.c.rule == "inactivity",
                previous.c.course_id == Enrolment.course_id,
                previous.c.due_at > anchor,
            ),
        )
        .where(
            *_eligible("inactivity", window),
            anchor <= as_of - timedelta(days=settings.inactivity_days),
        )
        .group_by(Enrolment.user_id, Enrolment.course_id)
        .having(
            or_(
                sent == 0,
                and_(
                    sent < settings.inactivity_max,
                    func.max(previous.c.local_date)
                    <= window.local_date - timedelta(days=settings.inactivity_repeat_days),
                ),
            )
        )
    )


def deadline(window: Window, as_of: datetime, settings: Settings) -> Select[*tuple[Any, ...]]:
    """A cohort's due date 7 days away, then 1 day away, in the learner's own calendar.

    Each stage covers the days up to the next one (7 → 2..7 days left, 1 → 0..1), so a morning the
    beat missed, or a learner who joined late, still gets the nearest reminder, once per due date.
    """
    stages = sorted(settings.deadline_days, reverse=True)
    periods: dict[date, str] = {}
    for position, stage in enumerate(stages):
        lowest = stages[position + 1] + 1 if position + 1 < len(stages) else 0
        for days_left in range(lowest, stage + 1):
            due = window.local_date + timedelta(days=days_left)
            periods[due] = f"{due.isoformat()}/{stage}d"
    return (
        _enrolments()
        .add_columns(
            literal("cohort:") + cast(Cohort.id, String),
            case(periods, value=Cohort.due_on),
        )
        .join(CohortMember, CohortMember.user_id == Enrolment.user_id)
        .join(Cohort, and_(Cohort.id == CohortMember.cohort_id, Cohort.course_id == Enrolment.course_id))
        .where(*_eligible("deadline", window), Cohort.due_on.in_(list(periods)))
    )


def quiz_failed(window: Window, as_of: datetime, settings: Settings) -> Select[*tuple[Any, ...]]:
    """A module's quiz failed at least twice, not passed, and not tried again for a day: once per
    module."""
    return (
        _enrolments()
        .add_columns(literal("module:") + ModuleState.module_slug, literal("once"))
        .join(ModuleState, ModuleState.enrolment_id == Enrolment.id)
        .join(Module, and_(Module.version_id == Enrolment.version_id, Module.slug == ModuleState.module_slug))
        .join(Quiz, Quiz.module_id == Module.id)
        .where(
            *_eligible("quiz_failed", window),
            ModuleState.failed_attempts >= 2,
            ModuleState.quiz_passed_at.is_(None),
            ModuleState.last_attempt_at <= as_of - timedelta(days=settings.quiz_wait_days),
        )
    )


RuleQuery = Callable[[Window, datetime, Settings], Select[*tuple[Any, ...]]]

RULE_QUERIES: dict[str, RuleQuery] = {
    "inactivity": inactivity,
    "deadline": deadline,
    "quiz_failed": quiz_failed,
}

# What the "certificate" rule reads of the certificates table (learning/certificates, built in
# parallel): the rule is on as soon as a table with these columns is part of the schema.
CERTIFICATE_COLUMNS = frozenset(
    {"id", "user_id", "course_id", "status", "issued_at", "email_sent_at", "downloaded_at"}
)


def certificate_not_downloaded(certificates: Table) -> RuleQuery:
    """The "certificate" rule over ``certificates``: a valid certificate whose own e-mail announced it
    at least N days ago and that was not downloaded since gets one nudge to download and share it.

    The certificates feature sends the news itself when it issues one; this rule only follows up, so
    the learner never hears the same news twice. It is the one rule for learners who completed the
    course.
    """
    c = certificates.c

    def query(window: Window, as_of: datetime, settings: Settings) -> Select[*tuple[Any, ...]]:
        return (
            _enrolments()
            .add_columns(literal("certificate:") + cast(c.id, String), literal("download"))
            .join(certificates, and_(c.user_id == Enrolment.user_id, c.course_id == Enrolment.course_id))
            .where(
                *_eligible("certificate", window, completed_ok=True),
                c.status == "valid",
                c.downloaded_at.is_(None),
                c.email_sent_at <= as_of - timedelta(days=settings.certificate_wait_days),
            )
        )

    return query


def rule_queries(metadata: MetaData) -> dict[str, RuleQuery]:
    """The rules in force: the certificate rule joins once its table exists."""
    queries = dict(RULE_QUERIES)
    certificates = metadata.tables.get("certificates")
    if certificates is not None and set(certificates.c.keys()) >= CERTIFICATE_COLUMNS:
        queries["certificate"] = certificate_not_downloaded(certificates)
    return queries
