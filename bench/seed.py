"""Build the benchmark database: a fresh PostgreSQL database with the migrations applied, content/ loaded by
the real sync code, 10,000 learners with enrolments and partial progress, and credentials for the load
generator (API bearer tokens and signed-in web sessions), written to bench/.state/<name>.json.

    python -m bench.seed                       # academy_bench on postgresql://postgres@127.0.0.1:5432
    python -m bench.seed --name other --learners 2000
    python -m bench.seed --credentials-only    # new tokens, sessions and key for an existing database
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from flask import Flask
from psycopg import sql
from psycopg.types.json import Json
from sqlalchemy import insert, select

from bench.common import (
    DEFAULT_DATABASE,
    DEFAULT_SERVER_URL,
    ROOT,
    STATE_DIR,
    bench_app,
    database_url,
    load_state,
    local_url,
    state_path,
)

PASSWORD = "bench learner password 2026"  # noqa: S105 - a throwaway account on a throwaway database
COUNTRIES = [
    "TH",
    "ID",
    "VN",
    "PH",
    "MY",
    "KH",
    "LA",
    "MM",
    "BD",
    "LK",
    "IN",
    "PK",
    "FJ",
    "PG",
    "WS",
    "KR",
    "MN",
]
TIMEZONES = [
    "Asia/Bangkok",
    "Asia/Jakarta",
    "Asia/Manila",
    "Asia/Kolkata",
    "Pacific/Fiji",
    "Asia/Seoul",
    "UTC",
]
ORGANISATIONS = ["Marine Department", "Port Authority", "Ministry of Transport", "Customs Department",
                 "Maritime Administration"]  # fmt: skip


@dataclass
class Counts:
    users: int = 0
    enrolments: int = 0
    lesson_completions: int = 0
    module_states: int = 0
    quiz_attempts: int = 0
    completed_courses: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class CourseShape:
    """What progress needs to know about one loaded course (taken from the database and the spec)."""

    course_id: int
    slug: str
    version_id: int
    modules: list[tuple[str, list[str]]]  # (module slug, lesson slugs) in order
    quizzes: dict[str, tuple[int, int, list[tuple[str, list[int], int]]]]  # module -> (quiz id, pass mark,
    # [(question slug, correct positions, a wrong position)])

    @property
    def lessons(self) -> list[str]:
        return [lesson for _, lessons in self.modules for lesson in lessons]

    @property
    def total_steps(self) -> int:
        return len(self.lessons) + len(self.quizzes)


# --- the database -----------------------------------------------------------------------------------------


def create_database(server_url: str, name: str) -> str:
    """Drop and create database ``name`` on the server of ``server_url``; return its SQLAlchemy URL."""
    url = database_url(server_url, name)
    admin = local_url(server_url).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return url


def migrate_and_load_content(app: Flask) -> list[str]:
    """Apply the Alembic migrations and load content/ with the real sync code; return the course slugs."""
    from flask_migrate import upgrade

    from learning.content.spec import read_content
    from learning.content.sync import sync_course
    from learning.extensions import db

    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        courses, problems = read_content(Path(app.config["CONTENT_PATH"]))
        if problems:
            raise SystemExit("content/ has problems:\n" + "\n".join(map(str, problems)))
        for spec in courses:
            print(f"  content: {sync_course(spec)}", flush=True)
            db.session.commit()
        return [spec.slug for spec in courses]


def course_shapes(app: Flask) -> dict[str, CourseShape]:
    from learning.catalog.models import Course
    from learning.content.spec import read_content
    from learning.extensions import db
    from learning.progress.services import outline
    from learning.quizzes.models import Quiz

    specs = {spec.slug: spec for spec in read_content(Path(app.config["CONTENT_PATH"]))[0]}
    shapes = {}
    with app.app_context():
        for course in db.session.scalars(select(Course).order_by(Course.id)):
            assert course.current_version_id is not None
            out = outline(course.current_version_id)
            quizzes = {}
            for module in out.modules:
                if module.quiz_id is None:
                    continue
                quiz = db.session.get(Quiz, module.quiz_id)
                assert quiz is not None
                module_spec = next(m for m in specs[course.slug].modules if m.slug == module.slug)
                assert module_spec.quiz is not None
                questions = []
                for q in module_spec.quiz.questions:
                    right = [i for i, c in enumerate(q.choices, start=1) if c.correct]
                    wrong = next(i for i, c in enumerate(q.choices, start=1) if not c.correct)
                    questions.append((q.slug, right, wrong))
                quizzes[module.slug] = (quiz.id, quiz.pass_mark, questions)
            shapes[course.slug] = CourseShape(
                course.id, course.slug, course.current_version_id,
                [(m.slug, list(m.lesson_slugs)) for m in out.modules], quizzes,
            )  # fmt: skip
    return shapes


# --- learners and their progress ------------------------------------------------------------------------


def copy_rows(
    conn: psycopg.Connection[Any], table: str, columns: list[str], rows: Iterator[tuple[Any, ...]]
) -> int:
    """COPY ``rows`` into ``table``; return how many."""
    count = 0
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


@dataclass
class Plan:
    """One enrolment's generated history, consistent with what learning.progress.services.recompute keeps."""

    completions: list[tuple[str, datetime]] = field(default_factory=list)
    states: list[dict[str, Any]] = field(default_factory=list)
    attempts: list[dict[str, Any]] = field(default_factory=list)
    percent: int = 0
    started_at: datetime | None = None
    halfway_at: datetime | None = None
    completed_at: datetime | None = None
    last_activity_at: datetime | None = None


def plan_progress(rng: random.Random, shape: CourseShape, enrolled_at: datetime, now: datetime) -> Plan:
    """Lessons done in course order up to a random point; a module's quiz taken once its lessons are done."""
    lessons = shape.lessons
    draw = rng.random()
    done = 0 if draw < 0.2 else len(lessons) if draw < 0.32 else rng.randint(1, len(lessons) - 1)
    span = (now - enrolled_at).total_seconds()
    moments = sorted(enrolled_at + timedelta(seconds=span * rng.random()) for _ in range(done * 2))
    clock = iter(moments)  # two moments per lesson: its completion and a possible quiz after it
    plan = Plan()
    steps: list[datetime] = []  # times at which a step (lesson or passed quiz) was done
    finished = set(lessons[:done])
    module_done_at: dict[str, datetime] = {}
    for module_slug, module_lessons in shape.modules:
        last = None
        for lesson in module_lessons:
            if lesson in finished:
                last = next(clock)
                plan.completions.append((lesson, last))
                steps.append(last)
                next(clock)
        if last is None or not set(module_lessons) <= finished:
            continue
        quiz = shape.quizzes.get(module_slug)
        if quiz is None:
            module_done_at[module_slug] = last
            plan.states.append({"module_slug": module_slug, "best_score": None, "attempts": 0,
                                "failed_attempts": 0, "last_attempt_at": None, "quiz_passed_at": None,
                                "completed_at": last})  # fmt: skip
            continue
        if rng.random() > 0.85:
            continue  # lessons done, quiz not taken yet
        quiz_id, pass_mark, questions = quiz
        at = last
        scores: list[tuple[int, datetime, list[bool]]] = []
        for _ in range(rng.choice((1, 1, 1, 1, 2, 2, 3))):
            at = min(now, at + timedelta(minutes=rng.randint(5, 600)))
            right = [rng.random() < 0.78 for _ in questions]
            scores.append((100 * sum(right) // len(questions), at, right))
            if scores[-1][0] >= pass_mark:
                break
        passed_at = scores[-1][1] if scores[-1][0] >= pass_mark else None
        for score, when, right in scores:
            graded = list(zip(questions, right, strict=True))
            plan.attempts.append({
                "quiz_id": quiz_id, "module_slug": module_slug, "score": score, "passed": score >= pass_mark,
                "answers": {slug: (good if ok else [bad]) for (slug, good, bad), ok in graded},
                "results": [{"question": slug, "correct": ok} for (slug, _, _), ok in graded],
                "submitted_at": when,
            })  # fmt: skip
        if passed_at is not None:
            steps.append(passed_at)
            module_done_at[module_slug] = passed_at
        plan.states.append({
            "module_slug": module_slug, "best_score": max(s for s, _, _ in scores), "attempts": len(scores),
            "failed_attempts": sum(s < pass_mark for s, _, _ in scores), "last_attempt_at": scores[-1][1],
            "quiz_passed_at": passed_at, "completed_at": passed_at,
        })  # fmt: skip
    steps.sort()
    total = shape.total_steps
    plan.percent = 100 * len(steps) // total
    activity = [t for _, t in plan.completions] + [a["submitted_at"] for a in plan.attempts]
    plan.last_activity_at = max(activity) if activity else None
    plan.started_at = steps[0] if steps else None
    half = next((i for i in range(len(steps)) if 100 * (i + 1) // total >= 50), None)
    plan.halfway_at = steps[half] if half is not None else None
    if len(module_done_at) == len(shape.modules):
        plan.completed_at = max(module_done_at.values())
    return plan


def insert_learners(app: Flask, shapes: dict[str, CourseShape], bench_course: str, learners: int,
                    seed: int) -> Counts:  # fmt: skip
    """Insert learners, enrolments and progress in bulk (one password hash shared by all)."""
    from learning.auth.models import ORGANISATION_TYPES, User, UserRole
    from learning.auth.passwords import hash_password
    from learning.db import utcnow
    from learning.extensions import db
    from learning.progress.models import Enrolment

    rng = random.Random(seed)
    counts = Counts()
    now = utcnow()
    password_hash = hash_password(PASSWORD)
    other = [slug for slug in shapes if slug != bench_course]
    with app.app_context():
        started = time.perf_counter()
        users = []
        for n in range(1, learners + 1):
            created = now - timedelta(days=rng.uniform(1, 365), seconds=rng.randint(0, 86_400))
            users.append({
                "email": f"learner{n:05d}@bench.example.org", "password_hash": password_hash,
                "full_name": f"Bench Learner {n}", "country": rng.choice(COUNTRIES),
                "organisation": rng.choice(ORGANISATIONS),
                "organisation_type": rng.choice(ORGANISATION_TYPES),
                "job_title": "Officer", "language": "en", "timezone": rng.choice(TIMEZONES),
                "consent_share_progress_at": created if rng.random() < 0.3 else None, "active": True,
                "failed_logins": 0, "created_at": created, "password_changed_at": created,
            })  # fmt: skip
        table = User.__table__
        ids = db.session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), users)
        user_ids = [row[0] for row in ids]
        db.session.execute(insert(UserRole.__table__), [{"user_id": i, "role": "learner"} for i in user_ids])
        counts.users = len(user_ids)
        counts.seconds["users"] = time.perf_counter() - started

        started = time.perf_counter()
        enrolments: list[dict[str, Any]] = []
        plans: list[Plan] = []
        for user_id, user in zip(user_ids, users, strict=True):
            courses = [bench_course] + [slug for slug in other if rng.random() < 0.35]
            for slug in courses:
                shape = shapes[slug]
                enrolled_at = user["created_at"] + timedelta(
                    days=rng.uniform(0, (now - user["created_at"]).days)
                )
                plan = plan_progress(rng, shape, enrolled_at, now)
                # A few learners left a second course; everyone stays in the benchmarked one.
                left = slug != bench_course and rng.random() < 0.05
                enrolments.append({
                    "user_id": user_id, "course_id": shape.course_id, "version_id": shape.version_id,
                    "status": "left" if left else "active", "enrolled_at": enrolled_at,
                    "left_at": (plan.last_activity_at or enrolled_at) if left else None,
                    "started_at": plan.started_at, "halfway_at": plan.halfway_at,
                    "completed_at": plan.completed_at,
                    "completed_version_id": shape.version_id if plan.completed_at else None,
                    "last_activity_at": plan.last_activity_at, "percent": plan.percent,
                    "country": user["country"], "organisation_type": user["organisation_type"],
                })  # fmt: skip
                plans.append(plan)
        table = Enrolment.__table__
        ids = db.session.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), enrolments
        )
        enrolment_ids = [row[0] for row in ids]
        counts.enrolments = len(enrolment_ids)
        counts.completed_courses = sum(1 for p in plans if p.completed_at)
        conn = db.session.connection().connection.driver_connection
        version_of = {e_id: e["version_id"] for e_id, e in zip(enrolment_ids, enrolments, strict=True)}
        pairs = list(zip(enrolment_ids, plans, strict=True))
        counts.lesson_completions = copy_rows(
            conn, "lesson_completions", ["enrolment_id", "lesson_slug", "version_id", "completed_at"],
            ((e_id, slug, version_of[e_id], at) for e_id, plan in pairs for slug, at in plan.completions),
        )  # fmt: skip
        state_columns = ["module_slug", "best_score", "attempts", "failed_attempts", "last_attempt_at",
                         "quiz_passed_at", "completed_at"]  # fmt: skip
        counts.module_states = copy_rows(
            conn, "module_states", ["enrolment_id", *state_columns],
            ((e_id, *(s[c] for c in state_columns)) for e_id, plan in pairs for s in plan.states),
        )  # fmt: skip
        counts.quiz_attempts = copy_rows(
            conn, "quiz_attempts",
            ["enrolment_id", "quiz_id", "module_slug", "score", "passed", "answers", "results",
             "submitted_at", "created_at"],
            ((e_id, a["quiz_id"], a["module_slug"], a["score"], a["passed"], Json(a["answers"]),
              Json(a["results"]), a["submitted_at"], a["submitted_at"])
             for e_id, plan in pairs for a in plan.attempts),
        )  # fmt: skip
        db.session.commit()
        counts.seconds["progress"] = time.perf_counter() - started
    analyze(app)
    return counts


def analyze(app: Flask) -> None:
    """Refresh the planner's statistics after the bulk load, as autovacuum would do shortly after."""
    from learning.extensions import db

    with app.app_context(), db.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")


def check_sample(app: Flask, bench_course: str, sample: int, seed: int) -> int:
    """Recompute a sample of enrolments with the real service and compare with what was inserted."""
    from learning.db import utcnow
    from learning.extensions import db
    from learning.progress import services
    from learning.progress.models import Enrolment

    rng = random.Random(seed + 1)
    mismatches = 0
    with app.app_context():
        ids = list(db.session.scalars(select(Enrolment.id).order_by(Enrolment.id)))
        for enrolment_id in rng.sample(ids, min(sample, len(ids))):
            enrolment = db.session.get(Enrolment, enrolment_id)
            assert enrolment is not None
            seeded = (enrolment.percent, enrolment.completed_at)
            state = services.progress_for(enrolment, enrolment.version_id)
            unmarked = [
                m.slug for m in state.modules.values() if m.is_complete != (m.completed_at is not None)
            ]
            complete = all(m.is_complete for m in state.modules.values())
            services.recompute(enrolment, enrolment.last_activity_at or utcnow())
            if (
                unmarked
                or (enrolment.percent, enrolment.completed_at) != seeded
                or complete != bool(seeded[1])
            ):
                mismatches += 1
                print(
                    f"  mismatch in enrolment {enrolment_id}: seeded {seeded}, recomputed "
                    f"{(enrolment.percent, enrolment.completed_at)}, modules marked wrongly {unmarked}"
                )
        db.session.rollback()
    return mismatches


# --- credentials for the load generator ---------------------------------------------------------------------


def make_credentials(app: Flask, bench_course: str, tokens: int, sessions: int, seed: int) -> dict[str, Any]:
    """API tokens (the real service) and web sessions (the real login form) for a sample of learners."""
    import re

    from learning.auth.models import User
    from learning.auth.services import create_api_token
    from learning.catalog.models import Course
    from learning.extensions import db
    from learning.progress.models import Enrolment

    rng = random.Random(seed + 2)
    with app.app_context():
        course = db.session.scalar(select(Course).where(Course.slug == bench_course))
        assert course is not None
        candidates = list(db.session.scalars(
            select(Enrolment.user_id).where(Enrolment.course_id == course.id, Enrolment.status == "active")
            .order_by(Enrolment.user_id)
        ))  # fmt: skip
        token_users = rng.sample(candidates, min(tokens, len(candidates)))
        bearer = []
        for user_id in token_users:
            user = db.session.get(User, user_id)
            assert user is not None
            bearer.append(create_api_token(user)[0])
        db.session.commit()
        session_users = rng.sample(candidates, min(sessions, len(candidates)))
        emails = list(db.session.scalars(select(User.email).where(User.id.in_(session_users))))
        db.session.remove()

    csrf = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    cookies = []
    for index, email in enumerate(emails):
        client = app.test_client()
        # https, so that the Secure cookie comes back; an address of its own per learner, so that the
        # login throttle (per address and minute) lets the whole sample in.
        client.environ_base.update({"wsgi.url_scheme": "https",
                                    "REMOTE_ADDR": f"127.1.{index // 250}.{index % 250 + 1}"})  # fmt: skip
        page = client.get("/login").get_data(as_text=True)
        match = csrf.search(page)
        assert match, "no CSRF token on the login page"
        response = client.post(
            "/login", data={"csrf_token": match.group(1), "email": email, "password": PASSWORD}
        )
        if response.status_code != 302:
            raise SystemExit(f"login of {email} failed with {response.status_code}")
        dashboard = client.get("/dashboard")
        if dashboard.status_code != 200:
            raise SystemExit(f"the session of {email} does not open the dashboard: {dashboard.status_code}"
                             f" {dashboard.headers.get('Location', '')}")  # fmt: skip
        cookie = client.get_cookie(cookie_name)
        assert cookie is not None
        cookies.append(cookie.value)
    return {"tokens": bearer, "cookies": cookies, "cookie_name": cookie_name}


def write_state(name: str, url: str, secret_key: str, bench_course: str, shapes: dict[str, CourseShape],
                credentials: dict[str, Any], counts: dict[str, Any]) -> Path:  # fmt: skip
    lessons = shapes[bench_course].lessons
    state = {
        "database": name, "database_url": url, "secret_key": secret_key, "course": bench_course,
        "lessons": lessons, "page_lesson": lessons[len(lessons) // 2],
        "other_courses": [slug for slug in shapes if slug != bench_course],
        "created_at": datetime.now().astimezone().isoformat(timespec="seconds"), "counts": counts,
        **credentials,
    }  # fmt: skip
    STATE_DIR.mkdir(exist_ok=True)
    path = state_path(name)
    path.write_text(json.dumps(state, indent=1))
    path.chmod(0o600)  # it holds the cookie signing key and live credentials of the bench database
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.seed", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument(
        "--server-url", default=DEFAULT_SERVER_URL, help="any database URL on the server to use"
    )
    parser.add_argument("--name", default=DEFAULT_DATABASE, help="database to (re)create")
    parser.add_argument("--learners", type=int, default=10_000)
    parser.add_argument("--course", default="smart-port-transition", help="the course every learner studies")
    parser.add_argument("--tokens", type=int, default=400, help="API bearer tokens to create")
    parser.add_argument("--sessions", type=int, default=48, help="web sessions to sign in")
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--credentials-only", action="store_true",
                        help="keep the database; make new tokens, sessions and a new secret key")  # fmt: skip
    args = parser.parse_args(argv)

    secret_key = secrets.token_urlsafe(48)
    started = time.perf_counter()
    if args.credentials_only:
        url = load_state(args.name)["database_url"]
        counts: dict[str, Any] = load_state(args.name)["counts"]
    else:
        print(f"creating database {args.name} ...", flush=True)
        url = create_database(args.server_url, args.name)
    app = bench_app(url, secret_key)
    if not args.credentials_only:
        slugs = migrate_and_load_content(app)
        if args.course not in slugs:
            raise SystemExit(f"no course {args.course!r} in content/ ({', '.join(slugs)})")
    shapes = course_shapes(app)
    if not args.credentials_only:
        print(f"inserting {args.learners} learners ...", flush=True)
        made = insert_learners(app, shapes, args.course, args.learners, args.seed)
        counts = {k: v for k, v in vars(made).items() if k != "seconds"}
        print("  " + ", ".join(f"{k} {v:,}" for k, v in counts.items()), flush=True)
        print("  " + ", ".join(f"{k} {v:.1f} s" for k, v in made.seconds.items()), flush=True)
        mismatches = check_sample(app, args.course, 200, args.seed)
        print(
            f"  checked 200 enrolments against learning.progress.services.recompute: {mismatches} mismatches"
        )
        if mismatches:
            return 1
    print(f"signing in {args.sessions} learners and creating {args.tokens} API tokens ...", flush=True)
    credentials = make_credentials(app, args.course, args.tokens, args.sessions, args.seed)
    path = write_state(args.name, url, secret_key, args.course, shapes, credentials, counts)
    print(f"wrote {path} ({time.perf_counter() - started:.0f} s in all)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
