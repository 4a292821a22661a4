"""Time to complete, quiz pass rates, reminders and the learner list (the drill-down, which shows
consenting learners only)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select, text

from learning.auth.choices import countries
from learning.db import dialect_name
from learning.extensions import db
from learning.progress.models import LessonCompletion
from learning.quizzes.models import QuizAttempt
from learning.reminders.models import ReminderBundle, ReminderSending
from learning.reports.filters import Filters
from learning.reports.queries.base import (
    MS,
    E,
    U,
    conditions,
    courses,
    enrolment_population,
    id_in,
    modules,
    population,
)
from learning.reports.tables import Column, Row, Table, one_decimal, share

# --- time to complete ------------------------------------------------------------------------------------


def percentile(ordered: list[float], q: float) -> float:
    """The ``q`` quantile of sorted values, interpolated linearly (as PostgreSQL's percentile_cont)."""
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def time_to_complete(f: Filters) -> Table:
    """Per course, for the enrolments completed in the period: the median and 90th percentile of the days
    from enrolment to completion."""
    durations: dict[int, list[float]] = defaultdict(list)
    for course_id, enrolled_at, completed_at in db.session.execute(
        select(E.c.course_id, E.c.enrolled_at, E.c.completed_at)
        .select_from(enrolment_population(f))
        .where(*conditions(f, dated=E.c.completed_at))
    ):
        durations[course_id].append(max(0.0, (completed_at - enrolled_at).total_seconds() / 86_400))
    infos = courses()
    rows = []
    every: list[float] = []
    for course_id, values in sorted(durations.items(), key=lambda item: infos[item[0]].label.casefold()):
        values.sort()
        every += values
        rows.append(Row(_time_cells(infos[course_id].label, values), infos[course_id].slug))
    if len(rows) > 1:
        every.sort()
        rows.append(Row(_time_cells(str(_("All courses")), every), "all"))
    return Table(
        "time-to-complete",
        str(_("Days from enrolment to completion")),
        (
            Column("course", str(_("Course")), "text"),
            Column("completions", str(_("Completions in the period"))),
            Column("median_days", str(_("Median (days)")), "days"),
            Column("p90_days", str(_("90th percentile (days)")), "days"),
        ),
        rows,
    )


def _time_cells(label: str, ordered: list[float]) -> tuple[Any, ...]:
    return (label, len(ordered), one_decimal(percentile(ordered, 0.5)), one_decimal(percentile(ordered, 0.9)))


# --- quiz pass rates ----------------------------------------------------------------------------------------


def quiz_pass_rates(f: Filters) -> Table:
    """Per module with a quiz: learners who attempted it, who passed, the pass rate and the attempts."""
    counts = {
        (course_id, slug): (int(tried or 0), int(passed), int(attempts or 0), int(first or 0))
        for course_id, slug, tried, passed, attempts, first in db.session.execute(
            select(
                E.c.course_id,
                MS.c.module_slug,
                func.count(case((MS.c.attempts > 0, 1))),
                func.count(MS.c.quiz_passed_at),
                func.sum(MS.c.attempts),
                func.count(case((and_(MS.c.quiz_passed_at.is_not(None), MS.c.failed_attempts == 0), 1))),
            )
            .select_from(enrolment_population(f).join(MS, MS.c.enrolment_id == E.c.id))
            .where(*conditions(f))
            .group_by(E.c.course_id, MS.c.module_slug)
        )
    }
    infos = courses()
    rows = []
    for module in modules():
        if not module.has_quiz or (f.course_id is not None and module.course_id != f.course_id):
            continue
        tried, passed, attempts, first = counts.get((module.course_id, module.slug), (0, 0, 0, 0))
        course = infos[module.course_id]
        rows.append(
            Row(
                (
                    course.label,
                    module.title,
                    tried,
                    passed,
                    share(passed, tried),
                    share(first, tried),
                    attempts,
                ),
                f"{course.slug}/{module.slug}",
            )
        )
    return Table(
        "quiz-pass-rates",
        str(_("Quiz pass rates per module")),
        (
            Column("course", str(_("Course")), "text"),
            Column("module", str(_("Module")), "text"),
            Column("attempted", str(_("Learners who attempted"))),
            Column("passed", str(_("Learners who passed"))),
            Column("pass_rate", str(_("Pass rate (%)")), "percent"),
            Column("first_attempt_rate", str(_("Passed at the first attempt (%)")), "percent"),
            Column("attempts", str(_("Attempts"))),
        ),
        rows,
    )


# --- learners (drill-down) ---------------------------------------------------------------------------------


LEARNER_COLUMNS = (
    ("name", _l("Name"), "text"),
    ("job_title", _l("Job title"), "text"),
    ("organisation", _l("Organisation"), "text"),
    ("country", _l("Country"), "text"),
    ("course", _l("Course"), "text"),
    ("status", _l("Status"), "text"),
    ("enrolled_at", _l("Enrolled"), "date"),
    ("percent", _l("Progress (%)"), "int"),
    ("completed_at", _l("Completed"), "date"),
    ("certified", _l("Certified"), "text"),
)


def _learner_where(f: Filters) -> list[ColumnElement[bool]]:
    return [*conditions(f), U.c.consent_share_progress_at.is_not(None)]


def learner_count(f: Filters) -> tuple[int, int]:
    """How many enrolments of the group are shown (their learner consented) and how many are not."""
    shown, hidden = db.session.execute(
        select(
            func.count(U.c.consent_share_progress_at),
            func.count(case((U.c.consent_share_progress_at.is_(None), 1))),
        )
        .select_from(population())
        .where(*conditions(f))
    ).one()
    return int(shown or 0), int(hidden or 0)


def learner_ids(f: Filters, offset: int = 0, limit: int | None = None) -> list[int]:
    """The enrolments of consenting learners in the group, in the order of the learner list."""
    stmt = (
        select(E.c.id)
        .select_from(population())
        .where(*_learner_where(f))
        .order_by(U.c.country, U.c.organisation, U.c.full_name, E.c.id)
        .offset(offset)
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def learner_rows(ids: list[int]) -> list[Row]:
    """Rows of the learner list for these enrolments (all consenting), in the order given."""
    if not ids:
        return []
    stmt = select(
        E.c.id, U.c.full_name, U.c.job_title, U.c.organisation, U.c.country, E.c.course_id, E.c.status,
        E.c.enrolled_at, E.c.percent, E.c.completed_at, E.c.certified,
    ).select_from(population()).where(
        id_in(E.c.id, ids), U.c.consent_share_progress_at.is_not(None)
    )  # fmt: skip
    infos = courses()
    names = dict(countries())
    yes, no = str(_("yes")), str(_("no"))
    statuses = {"active": str(_("active")), "left": str(_("left"))}
    found: dict[int, Row] = {}
    for (
        eid,
        name,
        job,
        org,
        country,
        course_id,
        status,
        enrolled_at,
        percent,
        completed_at,
        cert,
    ) in db.session.execute(stmt):
        found[eid] = Row(
            (
                name,
                job or "",
                org or "",
                names.get(country, country or ""),
                infos[course_id].label,
                statuses[status],
                _as_date(enrolled_at),
                int(percent),
                _as_date(completed_at),
                yes if cert else no,
            ),
            str(eid),
        )
    return [found[i] for i in ids if i in found]


def _as_date(value: Any) -> date | None:
    return value.date() if value is not None else None


def learner_table(f: Filters, rows: list[Row] | Iterator[Row]) -> Table:
    shown, hidden = learner_count(f)
    notes = [
        _(
            "Only learners who agreed to share their progress with the secretariat are listed: %(shown)s "
            "enrolments. %(hidden)s more in this group are counted in the totals only.",
            shown=shown,
            hidden=hidden,
        )
    ]
    return Table(
        "learners",
        str(_("Learners who share their progress")),
        tuple(Column(key, str(label), kind) for key, label, kind in LEARNER_COLUMNS),
        rows,
        notes,
    )


# --- reminders and returns -----------------------------------------------------------------------------


RETURN_DAYS = 7


def plus_days(column: Any, days: int) -> ColumnElement[Any]:
    """A timestamp ``days`` later, in the database."""
    if dialect_name() == "postgresql":
        return column + text(f"interval '{int(days)} days'")
    # SQLite keeps UTC timestamps as text; keep the same layout so that comparisons stay textual
    return func.strftime("%Y-%m-%d %H:%M:%f", column, f"+{int(days)} days")


def reminders(f: Filters) -> Table:
    """Per reminder rule: reminders e-mailed in the period, the learners they reached, and how many of those
    reminders were followed within 7 days by a completed lesson or a quiz attempt in their course."""
    sendings, bundles = ReminderSending.__table__, ReminderBundle.__table__
    columns = (
        Column("rule", str(_("Reminder")), "text"),
        Column("sent", str(_("Reminders sent"))),
        Column("learners", str(_("Learners reminded"))),
        Column("returned", str(_("Followed by a return within 7 days"))),
        Column("returned_share", str(_("Returns (%)")), "percent"),
    )
    lessons, attempts = LessonCompletion.__table__, QuizAttempt.__table__
    sent_at = bundles.c.sent_at
    window_end = plus_days(sent_at, RETURN_DAYS)
    returned = or_(
        exists().where(
            lessons.c.enrolment_id == E.c.id, lessons.c.completed_at > sent_at,
            lessons.c.completed_at <= window_end,
        ),
        exists().where(
            attempts.c.enrolment_id == E.c.id, attempts.c.submitted_at > sent_at,
            attempts.c.submitted_at <= window_end,
        ),
    )  # fmt: skip
    from_ = (
        sendings.join(bundles, bundles.c.id == sendings.c.bundle_id)
        .join(E, and_(E.c.user_id == sendings.c.user_id, E.c.course_id == sendings.c.course_id))
        .join(U, U.c.id == E.c.user_id)
    )
    counts = {
        rule: (int(sent), int(learners), int(back or 0))
        for rule, sent, learners, back in db.session.execute(
            select(
                sendings.c.rule,
                func.count(),
                func.count(func.distinct(sendings.c.user_id)),
                func.count(case((returned, 1))),
            )
            .select_from(from_)
            .where(bundles.c.status == "sent", *conditions(f, dated=sent_at))
            .group_by(sendings.c.rule)
        )
    }
    rows = [
        Row((str(RULE_LABELS.get(rule, rule)), sent, learners, back, share(back, sent)), rule)
        for rule, (sent, learners, back) in sorted(counts.items())
    ]
    notes = [
        _(
            "A reminder counts in the period of the day it was e-mailed; a return is a lesson completed or a "
            "quiz attempted in the reminder's course in the 7 days after it."
        )
    ]
    return Table("reminders", str(_("Reminders and returns")), columns, rows, notes)


RULE_LABELS = {
    "inactivity": _l("No activity for a while"),
    "deadline": _l("Cohort deadline coming"),
    "certificate": _l("Certificate waiting"),
    "quiz_failed": _l("Quiz not passed yet"),
}
