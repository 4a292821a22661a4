"""Cohorts: creating them, adding learners from a list or a CSV file (all rows or none), invitations."""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select

from learning.audit import services as audit
from learning.auth.models import User
from learning.auth.services import normalise_email, token_hash
from learning.catalog.models import Course
from learning.cohorts.models import Cohort, CohortInvitation, CohortMember
from learning.db import insert_for, utcnow
from learning.extensions import db
from learning.progress import services as progress

MAX_ROWS = 5000
INVITATION_LIFETIME = timedelta(days=30)


class CohortError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def create_cohort(course: Course, name: str, starts_on: date, due_on: date, actor: User) -> Cohort:
    if due_on < starts_on:
        raise CohortError("The due date must not be before the start date.")
    cohort = Cohort(
        course_id=course.id, name=name.strip(), starts_on=starts_on, due_on=due_on, created_at=utcnow()
    )
    db.session.add(cohort)
    db.session.flush()
    audit.record(
        "cohort.create",
        actor_id=actor.id,
        course_id=course.id,
        subject=cohort.name,
        cohort=cohort.id,
        due_on=due_on.isoformat(),
    )
    return cohort


@dataclass
class RowProblem:
    line: int
    value: str
    reason: str


@dataclass
class Roster:
    """Addresses read from a list or a CSV file, with every bad row; apply it only when there is none."""

    emails: list[str] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.emails) and not self.problems


def _check(roster: Roster, seen: dict[str, int], line: int, raw: str) -> None:
    value = raw.strip()
    if not value:
        return
    try:
        email = normalise_email(validate_email(value, check_deliverability=False).normalized)
    except EmailNotValidError as exc:
        roster.problems.append(RowProblem(line, value[:254], str(exc)))
        return
    if email in seen:
        roster.problems.append(RowProblem(line, value, f"the same address as line {seen[email]}"))
        return
    seen[email] = line
    roster.emails.append(email)


def roster_from_text(text: str) -> Roster:
    """One address per line (commas and semicolons also separate)."""
    roster = Roster()
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        for part in line.replace(";", ",").split(","):
            _check(roster, seen, number, part)
    _finish(roster)
    return roster


def roster_from_csv(data: bytes) -> Roster:
    """A CSV file with an `email` column (a header row), or addresses in the first column."""
    roster = Roster()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        roster.problems.append(RowProblem(1, "", "the file is not UTF-8 text (save it as CSV UTF-8)"))
        return roster
    if "\0" in text:
        roster.problems.append(RowProblem(1, "", "the file is not a CSV text file"))
        return roster
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error:
        # a cell longer than the csv module's limit (128 KiB), or an unclosed quote that swallows the file
        roster.problems.append(RowProblem(1, "", "the file is not a CSV file of e-mail addresses"))
        return roster
    column = 0
    start = 0
    if rows and any(cell.strip().lower() in ("email", "e-mail", "e-mail address") for cell in rows[0]):
        column = next(
            i
            for i, cell in enumerate(rows[0])
            if cell.strip().lower() in ("email", "e-mail", "e-mail address")
        )
        start = 1
    seen: dict[str, int] = {}
    for number, row in enumerate(rows[start:], start=start + 1):
        if not any(cell.strip() for cell in row):
            continue
        if column >= len(row) or not row[column].strip():
            roster.problems.append(RowProblem(number, ",".join(row)[:254], "no e-mail address in this row"))
            continue
        _check(roster, seen, number, row[column])
    _finish(roster)
    return roster


def _finish(roster: Roster) -> None:
    if len(roster.emails) > MAX_ROWS:
        roster.problems.append(RowProblem(MAX_ROWS + 1, "", f"more than {MAX_ROWS} learners in one go"))
    if not roster.emails and not roster.problems:
        roster.problems.append(RowProblem(1, "", "no e-mail address found"))


@dataclass
class Applied:
    added: list[str] = field(default_factory=list)
    invited: list[tuple[str, str]] = field(default_factory=list)  # (email, token)


def apply_roster(cohort: Cohort, roster: Roster, actor: User) -> Applied:
    """Add every address: existing accounts join and are enrolled, others are invited. Flushes."""
    if not roster.ok:
        raise CohortError("The list has problems; nothing was changed.")
    course = db.session.get(Course, cohort.course_id)
    assert course is not None
    users = {u.email: u for u in db.session.scalars(select(User).where(User.email.in_(roster.emails)))}
    pending = {
        i.email: i
        for i in db.session.scalars(
            select(CohortInvitation).where(
                CohortInvitation.cohort_id == cohort.id, CohortInvitation.email.in_(roster.emails)
            )
        )
    }
    result = Applied()
    for email in roster.emails:
        user = users.get(email)
        if user is not None:
            join(cohort, user, course)
            result.added.append(email)
            continue
        existing = pending.get(email)
        if existing is not None and existing.accepted_at is not None:
            continue
        token = secrets.token_urlsafe(32)
        now = utcnow()
        if existing is None:
            db.session.add(
                CohortInvitation(
                    cohort_id=cohort.id,
                    email=email,
                    token_hash=token_hash(token),
                    invited_by_id=actor.id,
                    created_at=now,
                    expires_at=now + INVITATION_LIFETIME,
                )
            )
        else:  # a new link for a pending invitation; the old one stops working
            existing.token_hash = token_hash(token)
            existing.expires_at = now + INVITATION_LIFETIME
        result.invited.append((email, token))
    db.session.flush()
    audit.record(
        "cohort.members",
        actor_id=actor.id,
        course_id=cohort.course_id,
        subject=cohort.name,
        cohort=cohort.id,
        added=len(result.added),
        invited=len(result.invited),
    )
    return result


def join(cohort: Cohort, user: User, course: Course) -> None:
    """Make ``user`` a member of ``cohort`` (idempotent) and enrol them in its course."""
    db.session.execute(
        insert_for(CohortMember)
        .values(cohort_id=cohort.id, user_id=user.id, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=[CohortMember.cohort_id, CohortMember.user_id])
    )
    if course.current_version_id is not None and not course.is_archived:
        progress.enrol(user, course)


def invitation_for(token: str) -> CohortInvitation | None:
    """The pending, unexpired invitation behind a link, if any."""
    return db.session.scalar(
        select(CohortInvitation).where(
            CohortInvitation.token_hash == token_hash(token),
            CohortInvitation.accepted_at.is_(None),
            CohortInvitation.expires_at > utcnow(),
        )
    )


def accept(invitation: CohortInvitation, user: User) -> None:
    """Use the invitation once: the user joins the cohort and its course. Flushes."""
    invitation.accepted_at = utcnow()
    invitation.accepted_user_id = user.id
    course = db.session.get(Course, invitation.cohort.course_id)
    assert course is not None
    join(invitation.cohort, user, course)
    audit.record(
        "cohort.invitation.accept",
        actor_id=user.id,
        course_id=course.id,
        subject=invitation.email,
        cohort=invitation.cohort_id,
    )
    db.session.flush()


@dataclass
class GridRow:
    user: User
    percent: int
    completed_at: datetime | None
    modules: dict[str, tuple[bool, int | None]]  # module slug -> (complete, best quiz score)


def grid(cohort: Cohort) -> tuple[list[tuple[str, str]], list[GridRow]]:
    """The cohort's learners by the modules of the course's current version, in three statements."""
    from learning.progress.models import Enrolment, ModuleState

    course = db.session.get(Course, cohort.course_id)
    assert course is not None
    out = progress.outline(course.current_version_id) if course.current_version_id else None
    modules = [(m.slug, m.title) for m in out.modules] if out else []
    rows = db.session.execute(
        select(User, Enrolment)
        .join(CohortMember, CohortMember.user_id == User.id)
        .outerjoin(Enrolment, (Enrolment.user_id == User.id) & (Enrolment.course_id == cohort.course_id))
        .where(CohortMember.cohort_id == cohort.id)
        .order_by(User.full_name)
    ).all()
    enrolment_ids = [e.id for _, e in rows if e is not None]
    states: dict[int, dict[str, ModuleState]] = {}
    if enrolment_ids:
        for state in db.session.scalars(
            select(ModuleState).where(ModuleState.enrolment_id.in_(enrolment_ids))
        ):
            states.setdefault(state.enrolment_id, {})[state.module_slug] = state
    result = []
    for user, enrolment in rows:
        mine = states.get(enrolment.id, {}) if enrolment else {}
        result.append(
            GridRow(
                user=user,
                percent=enrolment.percent if enrolment else 0,
                completed_at=enrolment.completed_at if enrolment else None,
                modules={
                    slug: (
                        bool(mine.get(slug) and mine[slug].completed_at),
                        mine[slug].best_score if slug in mine else None,
                    )
                    for slug, _ in modules
                },
            )
        )
    return modules, result
