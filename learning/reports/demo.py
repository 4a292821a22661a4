"""Synthetic learners for demonstrations and benchmarks: officials of the region's maritime administrations,
port authorities, ministries and customs, their enrolments, progress, quiz attempts, and (where those
features are installed) cohorts and certificates.

Every generated account has an address at DEMO_DOMAIN and no password (nobody can sign in with it), and its
name says it is a demo learner, so that the data cannot be taken for real. Progress follows the rules of
learning.progress.services.recompute (tests check a sample against it). Rows are written in bulk: COPY on
PostgreSQL, multi-row INSERTs elsewhere, a few thousand learners at a time so that memory stays flat.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from psycopg.types.json import Json
from sqlalchemy import JSON, Table, exists, func, insert, select, text

from learning.auth.models import User, UserRole
from learning.catalog.models import Course, CourseVersion
from learning.certificates.models import Certificate
from learning.cohorts.models import Cohort, CohortMember
from learning.db import dialect_name, utcnow
from learning.extensions import db
from learning.progress.models import Enrolment, LessonCompletion, ModuleState
from learning.progress.services import outline
from learning.quizzes.models import Quiz, QuizAttempt

DEMO_DOMAIN = "demo.smartport.invalid"
BATCH = 2000

# (country, time zone, language, engagement, [(organisation, type)]): engagement in (0, 1] makes
# countries complete at different rates, as they do.
REGION: list[tuple[str, str, str, float, list[tuple[str, str]]]] = [
    ("TH", "Asia/Bangkok", "th", 0.9, [
        ("Marine Department", "maritime_administration"), ("Port Authority of Thailand", "port_authority"),
        ("Ministry of Transport", "ministry_of_transport"), ("Customs Department", "customs")]),
    ("VN", "Asia/Ho_Chi_Minh", "vi", 0.8, [
        ("Viet Nam Maritime Administration", "maritime_administration"),
        ("Ministry of Transport", "ministry_of_transport"),
        ("General Department of Viet Nam Customs", "customs")]),
    ("ID", "Asia/Jakarta", "id", 0.7, [
        ("Directorate General of Sea Transportation", "maritime_administration"),
        ("Indonesia Port Corporation", "port_authority"),
        ("Directorate General of Customs and Excise", "customs")]),
    ("PH", "Asia/Manila", "en", 0.75, [
        ("Philippine Ports Authority", "port_authority"),
        ("Maritime Industry Authority", "maritime_administration"),
        ("Department of Transportation", "ministry_of_transport")]),
    ("MY", "Asia/Kuala_Lumpur", "ms", 0.85, [
        ("Marine Department Malaysia", "maritime_administration"), ("Port Klang Authority", "port_authority"),
        ("Ministry of Transport", "ministry_of_transport")]),
    ("KH", "Asia/Phnom_Penh", "km", 0.5, [
        ("Sihanoukville Autonomous Port", "port_authority"),
        ("Ministry of Public Works and Transport", "ministry_of_transport")]),
    ("MM", "Asia/Yangon", "my", 0.4, [
        ("Myanma Port Authority", "port_authority"),
        ("Department of Marine Administration", "maritime_administration")]),
    ("LK", "Asia/Colombo", "si", 0.65, [
        ("Sri Lanka Ports Authority", "port_authority"),
        ("Merchant Shipping Secretariat", "maritime_administration")]),
    ("BD", "Asia/Dhaka", "bn", 0.55, [
        ("Chittagong Port Authority", "port_authority"),
        ("Department of Shipping", "maritime_administration"), ("National Board of Revenue", "customs")]),
    ("IN", "Asia/Kolkata", "hi", 0.7, [
        ("Directorate General of Shipping", "maritime_administration"),
        ("Ministry of Ports, Shipping and Waterways", "ministry_of_transport")]),
    ("PK", "Asia/Karachi", "ur", 0.45, [
        ("Karachi Port Trust", "port_authority"), ("Ports and Shipping Wing", "maritime_administration")]),
    ("KR", "Asia/Seoul", "ko", 0.95, [
        ("Busan Port Authority", "port_authority"),
        ("Ministry of Oceans and Fisheries", "ministry_of_transport")]),
    ("CN", "Asia/Shanghai", "zh", 0.8, [
        ("Ministry of Transport", "ministry_of_transport"),
        ("Maritime Safety Administration", "maritime_administration")]),
    ("FJ", "Pacific/Fiji", "en", 0.6, [
        ("Fiji Ports Corporation", "port_authority"),
        ("Maritime Safety Authority of Fiji", "maritime_administration")]),
    ("PG", "Pacific/Port_Moresby", "en", 0.35, [
        ("PNG Ports Corporation", "port_authority"),
        ("National Maritime Safety Authority", "maritime_administration")]),
    ("WS", "Pacific/Apia", "sm", 0.5, [("Samoa Ports Authority", "port_authority")]),
    ("MN", "Asia/Ulaanbaatar", "mn", 0.6, [
        ("Ministry of Road and Transport Development", "ministry_of_transport"),
        ("Customs General Administration", "customs")]),
    ("KZ", "Asia/Almaty", "ru", 0.65, [
        ("Aktau International Sea Trade Port", "port_authority"),
        ("Ministry of Transport", "ministry_of_transport")]),
]  # fmt: skip
JOBS = ["Port State Control Officer", "Director of Port Planning", "Deputy Harbour Master", "Policy Analyst",
        "Customs Officer", "ICT Manager", "Head of Maritime Safety", "Logistics Specialist"]  # fmt: skip


class DemoRefusedError(Exception):
    """The database holds real learners (or no course to enrol in)."""


@dataclass
class QuizShape:
    quiz_id: int
    pass_mark: int
    questions: list[tuple[str, list[int], int]]  # (slug, correct positions, a wrong position)


@dataclass
class CourseShape:
    course_id: int
    version_id: int
    title: str
    hours: float
    modules: list[tuple[str, list[str]]]
    quizzes: dict[str, QuizShape]

    @property
    def total_steps(self) -> int:
        return sum(len(lessons) for _, lessons in self.modules) + len(self.quizzes)


@dataclass
class Counts:
    users: int = 0
    enrolments: int = 0
    lesson_completions: int = 0
    module_states: int = 0
    quiz_attempts: int = 0
    completed: int = 0
    certificates: int = 0
    cohort_members: int = 0
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict, repr=False)


def real_learners() -> int:
    """Accounts that are neither demo learners nor staff (trainer, secretariat, admin)."""
    staff = exists().where(
        UserRole.user_id == User.id, UserRole.role.in_(("trainer", "secretariat", "admin"))
    )
    return int(
        db.session.scalar(
            select(func.count()).select_from(User).where(~User.email.endswith(f"@{DEMO_DOMAIN}"), ~staff)
        )
        or 0
    )


def course_shapes() -> list[CourseShape]:
    """The published, active courses as progress needs them."""
    shapes = []
    for course, version in db.session.execute(
        select(Course, CourseVersion)
        .join(CourseVersion, CourseVersion.id == Course.current_version_id)
        .where(Course.status == "active")
        .order_by(Course.id)
    ):
        out = outline(version.id)
        quizzes = {}
        for module in out.modules:
            if module.quiz_id is None:
                continue
            quiz = db.session.get(Quiz, module.quiz_id)
            assert quiz is not None
            questions = []
            for q in quiz.questions:
                right = [c.position for c in q.choices if c.is_correct]
                wrong = next((c.position for c in q.choices if not c.is_correct), right[0])
                questions.append((q.slug, right, wrong))
            quizzes[module.slug] = QuizShape(quiz.id, quiz.pass_mark, questions)
        modules = [(m.slug, list(m.lesson_slugs)) for m in out.modules]
        shapes.append(CourseShape(course.id, version.id, version.title, version.hours, modules, quizzes))
    return shapes


def generate(
    learners: int,
    *,
    seed: int = 2026,
    force: bool = False,
    consent: float = 0.6,
    months: int = 18,
    echo: Callable[[str], None] | None = None,
) -> Counts:
    """Add ``learners`` demo learners with their history; flushes, the caller commits."""
    if not force and real_learners():
        raise DemoRefusedError(
            f"This database holds {real_learners()} real learners; demo data would mix with theirs. "
            "Use --force to add it anyway."
        )
    shapes = course_shapes()
    if not shapes:
        raise DemoRefusedError("There is no published course to enrol in: load content first.")
    rng = random.Random(seed)  # noqa: S311 - synthetic data, reproducible from its seed
    now = utcnow()
    counts = Counts()
    writer = _Writer()
    next_user = _next_id(User.__table__)
    next_enrolment = _next_id(Enrolment.__table__)
    next_attempt = _next_id(QuizAttempt.__table__)
    cohorts = _make_cohorts(rng, shapes, now, months, writer)
    start = now - timedelta(days=30 * months)
    serial = _next_id(Certificate.__table__)
    for first in range(0, learners, BATCH):
        rows: dict[str, list[dict[str, Any]]] = {name: [] for name in (
            "users", "user_roles", "enrolments", "lesson_completions", "module_states", "quiz_attempts",
            "certificates", "cohort_members")}  # fmt: skip
        for _ in range(first, min(first + BATCH, learners)):
            user_id = next_user
            next_user += 1
            country, zone, language, engagement, organisations = rng.choice(REGION)
            organisation, kind = rng.choice(organisations)
            created = start + timedelta(seconds=rng.uniform(0, (now - start).total_seconds() * 0.97))
            name = f"Demo learner {user_id} ({country})"
            rows["users"].append(
                {
                    "id": user_id,
                    "email": f"learner{user_id}@{DEMO_DOMAIN}",
                    "password_hash": None,
                    "full_name": name,
                    "country": country,
                    "organisation": organisation,
                    "organisation_type": kind,
                    "job_title": rng.choice(JOBS),
                    "language": language if language in ("en", "th", "vi") else "en",
                    "timezone": zone,
                    "consent_share_progress_at": created if rng.random() < consent else None,
                    "active": True,
                    "failed_logins": 0,
                    "created_at": created,
                    "password_changed_at": None,
                }
            )
            rows["user_roles"].append({"user_id": user_id, "role": "learner"})
            for index, shape in enumerate(shapes):
                if index > 0 and rng.random() > 0.35:
                    continue
                enrolled = created + timedelta(hours=rng.uniform(0.1, 24 * (2 if index == 0 else 40)))
                if enrolled >= now:
                    continue
                enrolment_id = next_enrolment
                next_enrolment += 1
                plan = _plan(rng, shape, enrolled, now, engagement)
                left = plan.completed_at is None and rng.random() < 0.06
                rows["enrolments"].append(
                    {
                        "id": enrolment_id,
                        "user_id": user_id,
                        "course_id": shape.course_id,
                        "version_id": shape.version_id,
                        "status": "left" if left else "active",
                        "enrolled_at": enrolled,
                        "left_at": (plan.last_activity_at or enrolled) if left else None,
                        "started_at": plan.started_at,
                        "halfway_at": plan.halfway_at,
                        "completed_at": plan.completed_at,
                        "completed_version_id": shape.version_id if plan.completed_at else None,
                        "last_activity_at": plan.last_activity_at,
                        "percent": plan.percent,
                        "country": country,
                        "organisation_type": kind,
                        "certified": False,
                    }
                )
                for slug, at in plan.lessons:
                    rows["lesson_completions"].append(
                        {
                            "enrolment_id": enrolment_id,
                            "lesson_slug": slug,
                            "version_id": shape.version_id,
                            "completed_at": at,
                        }
                    )
                for state in plan.states:
                    rows["module_states"].append({"enrolment_id": enrolment_id, **state})
                for attempt in plan.attempts:
                    rows["quiz_attempts"].append(
                        {"id": next_attempt, "enrolment_id": enrolment_id, **attempt}
                    )
                    next_attempt += 1
                # most who complete get their certificate (issued by the certificates task in real life)
                if plan.completed_at is not None and rng.random() < 0.93:
                    certificate = _certificate(
                        rng, serial, user_id, enrolment_id, shape, name, plan.completed_at, now
                    )
                    rows["certificates"].append(certificate)
                    rows["enrolments"][-1]["certified"] = certificate["status"] == "valid"
                    serial += 1
                if cohorts.get(shape.course_id) and rng.random() < 0.4:
                    rows["cohort_members"].append({"cohort_id": rng.choice(cohorts[shape.course_id]),
                                                   "user_id": user_id, "created_at": enrolled})  # fmt: skip
                counts.completed += plan.completed_at is not None
        writer.write(User.__table__, rows["users"])
        writer.write(UserRole.__table__, rows["user_roles"])
        writer.write(Enrolment.__table__, rows["enrolments"])
        writer.write(LessonCompletion.__table__, rows["lesson_completions"])
        writer.write(ModuleState.__table__, rows["module_states"])
        writer.write(QuizAttempt.__table__, rows["quiz_attempts"])
        writer.write(Certificate.__table__, rows["certificates"])
        if rows["cohort_members"]:
            writer.write(CohortMember.__table__, _unique_members(rows["cohort_members"]))
        for name in ("users", "enrolments", "lesson_completions", "module_states", "quiz_attempts",
                     "certificates", "cohort_members"):  # fmt: skip
            setattr(counts, name, getattr(counts, name) + len(rows[name]))
        if echo:
            echo(f"  {min(first + BATCH, learners):,} of {learners:,} learners")
    writer.finish()
    return counts


def _unique_members(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[tuple[int, int], dict[str, Any]] = {}
    for row in rows:
        seen.setdefault((row["cohort_id"], row["user_id"]), row)
    return list(seen.values())


def _next_id(table: Table | None) -> int:
    assert table is not None
    return int(db.session.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0) + 1


def _make_cohorts(
    rng: random.Random, shapes: list[CourseShape], now: datetime, months: int, writer: _Writer
) -> dict[int, list[int]]:
    table = Cohort.__table__
    next_id = _next_id(table)
    made: dict[int, list[int]] = {}
    rows = []
    for shape in shapes:
        for number in range(1, 4):
            starts = (now - timedelta(days=30 * months * number / 3)).date()
            rows.append({"id": next_id, "course_id": shape.course_id,
                         "name": f"Demo cohort {number}: {shape.title}"[:200], "starts_on": starts,
                         "due_on": starts + timedelta(days=120), "created_at": now})  # fmt: skip
            made.setdefault(shape.course_id, []).append(next_id)
            next_id += 1
    writer.write(table, rows)
    return made


def _certificate(
    rng: random.Random, serial: int, user_id: int, enrolment_id: int, shape: CourseShape, name: str,
    completed_at: datetime, now: datetime,
) -> dict[str, Any]:  # fmt: skip
    issued = min(now, completed_at + timedelta(minutes=rng.uniform(1, 90)))
    revoked = rng.random() < 0.03
    return {
        "id": serial, "serial": f"DEMO-{serial:08d}", "code": secrets.token_urlsafe(24), "user_id": user_id,
        "enrolment_id": enrolment_id, "course_id": shape.course_id, "course_version_id": shape.version_id,
        "holder_name": name, "course_title": shape.title, "hours": shape.hours, "completed_at": completed_at,
        "issued_at": issued, "status": "revoked" if revoked else "valid",
        "revoked_at": min(now, issued + timedelta(days=3)) if revoked else None,
        "revocation_reason": "Demo: issued in error" if revoked else None,
    }  # fmt: skip


@dataclass
class Plan:
    lessons: list[tuple[str, datetime]] = field(default_factory=list)
    states: list[dict[str, Any]] = field(default_factory=list)
    attempts: list[dict[str, Any]] = field(default_factory=list)
    percent: int = 0
    started_at: datetime | None = None
    halfway_at: datetime | None = None
    completed_at: datetime | None = None
    last_activity_at: datetime | None = None


def _plan(rng: random.Random, shape: CourseShape, enrolled: datetime, now: datetime,
          engagement: float) -> Plan:  # fmt: skip
    """A learner working through the course in order until they stop (or have not got further yet)."""
    keep_going = 0.88 + 0.11 * engagement  # the chance of going on after each lesson
    plan = Plan()
    steps: list[datetime] = []
    clock = enrolled
    stopped = rng.random() < 0.12  # some never start
    modules_done = 0
    for module_slug, lessons in shape.modules:
        if stopped:
            break
        for lesson in lessons:
            clock += timedelta(minutes=rng.uniform(5, 60) + rng.expovariate(1 / (36 * 60)))
            if clock > now or rng.random() > keep_going:
                stopped = True
                break
            plan.lessons.append((lesson, clock))
            steps.append(clock)
        if stopped:
            break
        quiz = shape.quizzes.get(module_slug)
        if quiz is None:
            plan.states.append(_state(module_slug, None, 0, 0, None, None, clock))
            modules_done += 1
            continue
        scores: list[tuple[int, datetime]] = []
        if rng.random() < 0.9:
            for _ in range(3):
                clock += timedelta(minutes=rng.uniform(5, 600))
                if clock > now:
                    break
                right = [rng.random() < 0.55 + 0.35 * engagement for _ in quiz.questions]
                score = 100 * sum(right) // len(quiz.questions)
                plan.attempts.append(_attempt(quiz, module_slug, score, right, clock))
                scores.append((score, clock))
                if score >= quiz.pass_mark:
                    break
        if not scores:
            stopped = True
            break
        passed_at = scores[-1][1] if scores[-1][0] >= quiz.pass_mark else None
        failed = sum(1 for s, _ in scores if s < quiz.pass_mark)
        plan.states.append(_state(module_slug, max(s for s, _ in scores), len(scores), failed, scores[-1][1],
                                  passed_at, passed_at))  # fmt: skip
        if passed_at is None:
            stopped = True
            break
        steps.append(passed_at)
        modules_done += 1
    total = shape.total_steps
    plan.percent = 100 * len(steps) // total if total else 0
    activity = [at for _, at in plan.lessons] + [a["submitted_at"] for a in plan.attempts]
    plan.last_activity_at = max(activity) if activity else None
    plan.started_at = steps[0] if steps else None
    half = next((i for i in range(len(steps)) if 100 * (i + 1) // total >= 50), None)
    plan.halfway_at = steps[half] if half is not None else None
    if modules_done == len(shape.modules) and shape.modules:
        plan.completed_at = steps[-1]
    return plan


def _state(slug: str, best: int | None, attempts: int, failed: int, last: datetime | None,
           passed: datetime | None, completed: datetime | None) -> dict[str, Any]:  # fmt: skip
    return {"module_slug": slug, "best_score": best, "attempts": attempts, "failed_attempts": failed,
            "last_attempt_at": last, "quiz_passed_at": passed, "completed_at": completed}  # fmt: skip


def _attempt(
    quiz: QuizShape, module_slug: str, score: int, right: list[bool], at: datetime
) -> dict[str, Any]:
    graded = list(zip(quiz.questions, right, strict=True))
    return {
        "quiz_id": quiz.quiz_id,
        "module_slug": module_slug,
        "score": score,
        "passed": score >= quiz.pass_mark,
        "answers": {slug: (good if ok else [bad]) for (slug, good, bad), ok in graded},
        "results": [{"question": slug, "correct": ok} for (slug, _, _), ok in graded],
        "submitted_at": at,
        "created_at": at,
    }


class _Writer:
    """Bulk writes: COPY on PostgreSQL (ids given explicitly, sequences moved on at the end), multi-row
    INSERTs elsewhere."""

    def __init__(self) -> None:
        self.postgres = dialect_name() == "postgresql"
        self.tables: set[str] = set()

    def write(self, table: Table, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        self.tables.add(table.name)
        if not self.postgres:
            db.session.execute(insert(table), rows)
            return
        from psycopg import sql

        columns = list(rows[0])
        json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        connection: Any = db.session.connection().connection.driver_connection
        with connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([Json(row[c]) if c in json_columns else row[c] for c in columns])

    def finish(self) -> None:
        db.session.flush()
        if not self.postgres:
            return
        for name in sorted(self.tables):
            table = db.metadata.tables[name]
            if "id" in table.c and table.c.id.primary_key:
                db.session.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608 - our table names
                        f"(SELECT coalesce(max(id), 1) FROM {name}))"
                    )  # fmt: skip
                )
