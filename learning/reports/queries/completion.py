"""Headline figures, the monthly trend, completion by a dimension and the funnel."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, case, func, select

from learning.auth.choices import ORGANISATION_TYPE_LABELS, country_name
from learning.extensions import db
from learning.reports.filters import Filters
from learning.reports.queries.base import (
    CERTS,
    CM,
    COHORTS,
    MS,
    NOT_STATED,
    CourseInfo,
    E,
    U,
    certificate_conditions,
    certified_count,
    conditions,
    courses,
    enrolment_population,
    modules,
    month_of,
    population,
)
from learning.reports.tables import Column, Row, Table, share

GROUPS = ("country", "organisation_type", "organisation", "course", "module", "cohort", "month")
GROUP_TITLES = {
    "country": _l("Completion by country"),
    "organisation_type": _l("Completion by type of organisation"),
    "organisation": _l("Completion by organisation"),
    "course": _l("Completion by course"),
    "module": _l("Completion by module"),
    "cohort": _l("Completion by cohort"),
    "month": _l("Completion by month of enrolment"),
}
GROUP_LABELS = {
    "country": _l("Country"),
    "organisation_type": _l("Type of organisation"),
    "organisation": _l("Organisation"),
    "course": _l("Course"),
    "module": _l("Module"),
    "cohort": _l("Cohort"),
    "month": _l("Month of enrolment"),
}


COMPLETION_COLUMNS = (
    Column("enrolled", _l("Enrolled")),
    Column("started", _l("Started")),
    Column("completed", _l("Completed")),
    Column("certified", _l("Certified")),
    Column("completion_rate", _l("Completion rate (%)"), "percent"),
)


# --- headline figures -----------------------------------------------------------------------------------


def headline(f: Filters) -> Table:
    """Learners, enrolments, completions and certificates of a period, and the completion rate."""
    base = db.session.execute(
        select(
            func.count(func.distinct(E.c.user_id)),
            func.count(),
            func.count(E.c.completed_at),
            func.count(case((E.c.status == "left", 1))),
        )
        .select_from(enrolment_population(f))
        .where(*conditions(f))
    ).one()
    learners, enrolments, completed, left = (int(v or 0) for v in base)
    completions = db.session.scalar(
        select(func.count())
        .select_from(enrolment_population(f))
        .where(*conditions(f, dated=E.c.completed_at))
    )
    certificates = certificates_issued(f)
    rows = [
        Row((str(_("Learners")), learners), "learners"),
        Row((str(_("Enrolments")), enrolments), "enrolments"),
        Row((str(_("Of which left the course")), left), "left"),
        Row((str(_("Completions in the period")), int(completions or 0)), "completions"),
        Row((str(_("Certificates issued in the period")), certificates), "certificates"),
        Row((str(_("Completion rate of these enrolments (%)")), share(completed, enrolments)), "rate"),
    ]
    return Table(
        "headline",
        str(_("Headline figures")),
        (Column("figure", str(_("Figure")), "text"), Column("value", str(_("Value")), "percent")),
        rows,
        [],
    )


def certificates_issued(f: Filters) -> int:
    """Valid certificates issued in the period to learners who match the filters."""
    stmt = (
        select(func.count())
        .select_from(CERTS.join(U, U.c.id == CERTS.c.user_id))
        .where(*certificate_conditions(f))
    )
    return int(db.session.scalar(stmt) or 0)


# --- trend by month -------------------------------------------------------------------------------------


def trend(f: Filters) -> Table:
    """Per month: enrolments (by enrolment date), completions (by completion date) and certificates
    issued (by issue date), every month between the first and the last shown."""
    months: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for column, index in ((E.c.enrolled_at, 0), (E.c.completed_at, 1)):
        month = month_of(column)
        rows = db.session.execute(
            select(month, func.count())
            .select_from(enrolment_population(f))
            .where(*conditions(f, dated=column))
            .group_by(month)
        )
        for key, count in rows:
            months[key][index] = int(count)
    month = month_of(CERTS.c.issued_at)
    for key, count in db.session.execute(
        select(month, func.count())
        .select_from(CERTS.join(U, U.c.id == CERTS.c.user_id))
        .where(*certificate_conditions(f))
        .group_by(month)
    ):
        months[key][2] = int(count)
    rows_out = [Row((key, *months.get(key, [0, 0, 0])), key) for key in _month_range(list(months))]
    return Table(
        "trend",
        str(_("Enrolments, completions and certificates by month")),
        (
            Column("month", str(_("Month")), "text"),
            Column("enrolments", str(_("Enrolments"))),
            Column("completions", str(_("Completions"))),
            Column("certificates", str(_("Certificates issued"))),
        ),
        rows_out,
        [],
    )


def _month_range(keys: list[str]) -> list[str]:
    if not keys:
        return []
    first, last = min(keys), max(keys)
    year, month = int(first[:4]), int(first[5:])
    out = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


# --- completion by a dimension ---------------------------------------------------------------------------


def completion(f: Filters, group_by: str) -> Table:
    """Enrolled, started, completed and certified enrolments and the completion rate per group."""
    if group_by not in GROUPS:
        raise ValueError(group_by)
    rows = _completion_by_module(f) if group_by == "module" else _completion_by(f, group_by)
    notes: list[str] = []
    if group_by == "module":
        notes.append(
            _(
                "For a module, started means the learner attempted its quiz or completed it; enrolled and "
                "certified are those of its course."
            )
        )
    return Table(
        f"completion-by-{group_by.replace('_', '-')}",
        str(GROUP_TITLES[group_by]),
        (Column("label", str(GROUP_LABELS[group_by]), "text"), *_columns()),
        rows,
        notes,
    )


def _columns() -> tuple[Column, ...]:
    return tuple(Column(c.key, str(c.label), c.kind) for c in COMPLETION_COLUMNS)


def _counts(enrolled: int, started: int, completed: int, certified: int) -> tuple[Any, ...]:
    return (enrolled, started, completed, certified, share(completed, enrolled))


def _completion_by(f: Filters, group_by: str) -> list[Row]:
    from_ = enrolment_population(f)
    keys: list[Any]
    if group_by == "country":
        keys = [E.c.country]
    elif group_by == "organisation_type":
        keys = [E.c.organisation_type]
    elif group_by == "organisation":
        from_ = population()
        keys = [E.c.country, U.c.organisation]
    elif group_by == "course":
        keys = [E.c.course_id]
    elif group_by == "month":
        keys = [month_of(E.c.enrolled_at)]
    else:  # cohort
        from_ = from_.join(CM, CM.c.user_id == E.c.user_id).join(
            COHORTS, and_(COHORTS.c.id == CM.c.cohort_id, COHORTS.c.course_id == E.c.course_id)
        )
        keys = [COHORTS.c.id, COHORTS.c.name]
    stmt: Select[Any] = (
        select(
            *keys,
            func.count(),
            func.count(E.c.started_at),
            func.count(E.c.completed_at),
            certified_count(),
        )
        .select_from(from_)
        .where(*conditions(f))
        .group_by(*keys)
    )
    result = db.session.execute(stmt).all()
    width = len(keys)
    infos = courses() if group_by == "course" else {}
    rows = []
    for record in result:
        key_values, counts = record[:width], [int(v or 0) for v in record[width:]]
        key, label, drill = _label(group_by, key_values, infos, f)
        rows.append(Row((label, *_counts(*counts)), key, drill))
    return _sorted(group_by, rows)


def _label(
    group_by: str, values: Any, infos: dict[int, CourseInfo], f: Filters
) -> tuple[str, str, dict[str, str] | None]:
    """The row's key, its label and the filters of its drill-down (if it has one)."""
    if group_by == "country":
        code = values[0]
        return (code or "", country_name(code) if code else str(NOT_STATED),
                {"country": code} if code else None)  # fmt: skip
    if group_by == "organisation_type":
        kind = values[0]
        label = str(ORGANISATION_TYPE_LABELS.get(kind, kind)) if kind else str(NOT_STATED)
        return kind or "", label, {"organisation_type": kind} if kind else None
    if group_by == "organisation":
        code, name = values
        label = name or str(NOT_STATED)
        if not f.country and code:
            label = f"{label} ({country_name(code)})"
        drill = {"country": code, "organisation": name} if code and name else None
        return f"{code or ''}:{name or ''}", label, drill
    if group_by == "course":
        info = infos[values[0]]
        return info.slug, info.label, {"course": info.slug}
    if group_by == "cohort":
        return str(values[0]), str(values[1]), {"cohort": str(values[0])}
    return values[0], values[0], None  # month


def _sorted(group_by: str, rows: list[Row]) -> list[Row]:
    if group_by in ("month", "cohort", "course"):
        if group_by == "month":
            return sorted(rows, key=lambda r: r.key or "")
        return sorted(rows, key=lambda r: (str(r.cells[0]).casefold(), r.key or ""))
    # the best completing groups first: the question the secretariat asks of these tables
    rate = len(COMPLETION_COLUMNS)
    return sorted(rows, key=lambda r: (-(r.cells[rate] or 0), str(r.cells[0]).casefold(), r.key or ""))


def _completion_by_module(f: Filters) -> list[Row]:
    per_course = {
        course_id: (int(n), int(c or 0))
        for course_id, n, c in db.session.execute(
            select(E.c.course_id, func.count(), certified_count())
            .select_from(enrolment_population(f))
            .where(*conditions(f))
            .group_by(E.c.course_id)
        )
    }
    per_module = {
        (course_id, slug): (int(started), int(done))
        for course_id, slug, started, done in db.session.execute(
            select(
                E.c.course_id,
                MS.c.module_slug,
                func.count(case((MS.c.attempts > 0, 1), (MS.c.completed_at.is_not(None), 1))),
                func.count(MS.c.completed_at),
            )
            .select_from(enrolment_population(f).join(MS, MS.c.enrolment_id == E.c.id))
            .where(*conditions(f))
            .group_by(E.c.course_id, MS.c.module_slug)
        )
    }
    infos = courses()
    rows = []
    for module in modules():
        if module.course_id not in per_course:
            continue
        enrolled, certs = per_course[module.course_id]
        started, done = per_module.get((module.course_id, module.slug), (0, 0))
        course = infos[module.course_id]
        label = f"{course.label}: {module.title}" if f.course_id is None else module.title
        rows.append(Row((label, *_counts(enrolled, started, done, certs)), f"{course.slug}/{module.slug}"))
    return rows


# --- the funnel -------------------------------------------------------------------------------------------


STAGES = ("enrolled", "started", "halfway", "completed", "certified")


def funnel(f: Filters) -> Table:
    """Per course: enrolled → started → half way → completed → certified, with the share of enrolled."""
    rows = []
    infos = courses()
    for course_id, *counts in db.session.execute(
        select(
            E.c.course_id,
            func.count(),
            func.count(E.c.started_at),
            func.count(E.c.halfway_at),
            func.count(E.c.completed_at),
            certified_count(),
        )
        .select_from(enrolment_population(f))
        .where(*conditions(f))
        .group_by(E.c.course_id)
    ):
        n = [int(v or 0) for v in counts]
        cells: list[Any] = [infos[course_id].label, n[0]]
        for value in n[1:]:
            cells += [value, share(value, n[0])]
        rows.append(Row(tuple(cells), infos[course_id].slug, {"course": infos[course_id].slug}))
    rows.sort(key=lambda r: str(r.cells[0]).casefold())
    columns = [Column("course", str(_("Course")), "text"), Column("enrolled", str(_("Enrolled")))]
    for stage, label in (
        ("started", _("Started")),
        ("halfway", _("Half way")),
        ("completed", _("Completed")),
        ("certified", _("Certified")),
    ):
        columns += [Column(stage, str(label)), Column(f"{stage}_share", _("%(stage)s (%%)", stage=label),
                                                      "percent")]  # fmt: skip
    return Table("funnel", str(_("From enrolment to certificate, per course")), tuple(columns), rows,
                 [])  # fmt: skip
