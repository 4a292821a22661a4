"""A small fixed data set whose every report figure was computed by hand (see EXPECTED in the tests).

Courses: harbour-basics ("H", the fixture course: 2 modules, each 2 lessons and a quiz) and "Old harbour
course" ("O", archived, one module without a quiz). Times are 10:00 UTC, so durations are whole days.
Certified (a valid certificate): 1, 5 (after a superseded one) and 7; 2's certificate was revoked.

| # | who | country, organisation (type) | consent | course | enrolled | started | half way | completed |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
| 1 | A | TH, Marine Department (maritime) | yes | H | 2026-01-05 | 01-06 | 01-10 | 2026-02-01 |
| 2 | B | TH, Marine Department (maritime) | no | H | 2026-01-20 | 01-21 | 02-15 | 2026-03-10 |
| 3 | C | TH, Port Authority of Thailand (port) | yes | H | 2026-02-03 | 02-04 |  |  |
| 4 | D | VN, Viet Nam Maritime Administration | no | H | 2026-02-10 |  |  |  |
| 5 | E | VN, Ministry of Transport (ministry) | yes | H | 2026-03-01 | 03-02 | 03-05 | 2026-03-20 |
| 6 | F | ID, Port Corporation (port), left | yes | H | 2026-01-15 | 01-16 | 01-20 |  |
| 7 | A |  |  | O | 2025-12-01 | 12-02 | 12-03 | 2025-12-20 |
| 8 | D | (left) |  | O | 2025-12-10 | 12-11 |  |  |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from learning.auth import services as auth
from learning.auth.models import User
from learning.catalog.models import Course, CourseVersion, Module
from learning.certificates.models import Certificate
from learning.certificates.services import refresh_certified
from learning.cohorts.models import Cohort, CohortMember
from learning.extensions import db
from learning.progress.models import Enrolment, LessonCompletion, ModuleState
from learning.quizzes.models import Quiz, QuizAttempt
from learning.reminders.models import ReminderBundle, ReminderSending


def at(day: str) -> datetime:
    """10:00 UTC on an ISO day."""
    return datetime.fromisoformat(day).replace(hour=10, tzinfo=UTC)


@dataclass
class DataSet:
    users: dict[str, User]
    enrolments: dict[int, Enrolment]
    harbour: Course
    old: Course
    cohorts: dict[str, Cohort]


LEARNERS = {
    "A": ("TH", "Marine Department", "maritime_administration", True),
    "B": ("TH", "Marine Department", "maritime_administration", False),
    "C": ("TH", "Port Authority of Thailand", "port_authority", True),
    "D": ("VN", "Viet Nam Maritime Administration", "maritime_administration", False),
    "E": ("VN", "Ministry of Transport", "ministry_of_transport", True),
    "F": ("ID", "Port Corporation", "port_authority", True),
}
# number: (learner, course, enrolled, started, halfway, completed, status, percent)
ENROLMENTS = {
    1: ("A", "H", "2026-01-05", "2026-01-06", "2026-01-10", "2026-02-01", "active", 100),
    2: ("B", "H", "2026-01-20", "2026-01-21", "2026-02-15", "2026-03-10", "active", 100),
    3: ("C", "H", "2026-02-03", "2026-02-04", None, None, "active", 33),
    4: ("D", "H", "2026-02-10", None, None, None, "active", 0),
    5: ("E", "H", "2026-03-01", "2026-03-02", "2026-03-05", "2026-03-20", "active", 100),
    6: ("F", "H", "2026-01-15", "2026-01-16", "2026-01-20", None, "left", 50),
    7: ("A", "O", "2025-12-01", "2025-12-02", "2025-12-03", "2025-12-20", "active", 100),
    8: ("D", "O", "2025-12-10", "2025-12-11", None, None, "left", 50),
}
# (enrolment, module): (attempts, failed attempts, passed, completed)
STATES = {
    (1, "first-steps"): (1, 0, True, True),
    (1, "second-steps"): (2, 1, True, True),
    (2, "first-steps"): (1, 0, True, True),
    (2, "second-steps"): (1, 0, True, True),
    (3, "first-steps"): (2, 2, False, False),
    (5, "first-steps"): (1, 0, True, True),
    (5, "second-steps"): (1, 0, True, True),
    (6, "first-steps"): (1, 0, True, True),
    (7, "legacy"): (0, 0, False, True),
}


def old_course() -> Course:
    """An archived course with one published version of one module (no quiz)."""
    course = Course(slug="old-harbour", status="archived", created_at=at("2025-06-01"),
                    archived_at=at("2026-01-01"))  # fmt: skip
    db.session.add(course)
    db.session.flush()
    version = CourseVersion(
        course_id=course.id, number=1, title="Old harbour course", summary="Retired.", description_html="",
        language="en", hours=2.0, source_hash="0" * 64, published_at=at("2025-06-01"),
    )  # fmt: skip
    db.session.add(version)
    db.session.flush()
    db.session.add(Module(version_id=version.id, slug="legacy", position=1, title="Legacy module", summary="",
                          objectives=[], case_studies=[], reflection_html="", references={},
                          references_html={}))  # fmt: skip
    course.current_version_id = version.id
    db.session.flush()
    return course


@pytest.fixture
def dataset(app: Flask, create_user: Callable[..., User], course: Course) -> DataSet:
    old = old_course()
    users = {}
    for name, (country, organisation, kind, consent) in LEARNERS.items():
        # no password: these learners never sign in, and hashing one costs a quarter of a second
        profile = auth.Profile(full_name=f"Learner {name}", country=country, organisation=organisation,
                               organisation_type=kind, job_title="Officer", language="en",
                               timezone="Asia/Bangkok", consent_share_progress=consent)  # fmt: skip
        users[name] = auth.create_user(f"{name.lower()}@reports.example.org", None, profile, set())
    courses = {"H": course, "O": old}
    enrolments = {}
    for number, (who, code, enrolled, started, halfway, completed, status, percent) in ENROLMENTS.items():
        target = courses[code]
        assert target.current_version_id is not None
        enrolment = Enrolment(
            user_id=users[who].id, course_id=target.id, version_id=target.current_version_id, status=status,
            enrolled_at=at(enrolled), left_at=at("2026-03-25") if status == "left" else None,
            started_at=at(started) if started else None, halfway_at=at(halfway) if halfway else None,
            completed_at=at(completed) if completed else None,
            completed_version_id=target.current_version_id if completed else None,
            last_activity_at=at(completed or halfway or started or enrolled), percent=percent,
            country=users[who].country, organisation_type=users[who].organisation_type,
        )  # fmt: skip
        db.session.add(enrolment)
        db.session.flush()
        enrolments[number] = enrolment
    for (number, module), (attempts, failed, passed, done) in STATES.items():
        when = enrolments[number].completed_at or at("2026-03-01")
        db.session.add(ModuleState(
            enrolment_id=enrolments[number].id, module_slug=module, best_score=80 if passed else (40 if
            attempts else None), attempts=attempts, failed_attempts=failed, last_attempt_at=when if attempts
            else None, quiz_passed_at=when if passed else None, completed_at=when if done else None,
        ))  # fmt: skip
    cohorts = {
        "bangkok": Cohort(course_id=course.id, name="Bangkok 2026", starts_on=date(2026, 1, 1),
                          due_on=date(2026, 6, 30)),
        "old": Cohort(course_id=old.id, name="Old course group", starts_on=date(2025, 12, 1),
                      due_on=date(2026, 3, 1)),
    }  # fmt: skip
    db.session.add_all(cohorts.values())
    db.session.flush()
    for cohort, who in (("bangkok", "A"), ("bangkok", "B"), ("bangkok", "C"), ("old", "D")):
        db.session.add(CohortMember(cohort_id=cohorts[cohort].id, user_id=users[who].id))
    add_activity_and_reminders(course, users, enrolments)
    add_certificates(users, enrolments)
    db.session.commit()
    return DataSet(users, enrolments, course, old, cohorts)


# (enrolment, issued, status, changed): a learner is certified by a valid certificate only
CERTIFICATES = [
    (1, "2026-02-01", "valid", None),
    (2, "2026-03-10", "revoked", "2026-03-12"),
    (5, "2026-03-20", "superseded", "2026-03-22"),  # a name corrected: replaced by the next one
    (5, "2026-03-22", "valid", None),
    (7, "2025-12-20", "valid", None),  # of the archived course
]


def add_certificates(users: dict[str, User], enrolments: dict[int, Enrolment]) -> None:
    for serial, (number, issued, status, changed) in enumerate(CERTIFICATES, start=1):
        enrolment = enrolments[number]
        db.session.add(Certificate(
            serial=f"TEST-{serial:04d}", code=f"code-{serial}", user_id=enrolment.user_id,
            enrolment_id=enrolment.id, course_id=enrolment.course_id, course_version_id=enrolment.version_id,
            holder_name="Holder", course_title="Course", hours=1.0, completed_at=enrolment.completed_at,
            issued_at=at(issued), status=status,
            revoked_at=at(changed) if status == "revoked" and changed else None,
            superseded_at=at(changed) if status == "superseded" and changed else None,
        ))  # fmt: skip
        db.session.flush()
        refresh_certified(enrolment.user_id, enrolment.course_id)


# (learner, rule, sent on, status); returns come from the activity below
REMINDERS = [
    ("A", "inactivity", "2026-01-08", "sent"),  # A completes a lesson on 01-10: a return
    ("C", "inactivity", "2026-02-10", "sent"),  # C's next lesson is on 02-20, 10 days later: none
    ("D", "deadline", "2026-02-20", "sent"),  # D does nothing
    ("E", "inactivity", "2026-03-01", "failed"),  # never e-mailed: not counted
    ("F", "quiz_failed", "2026-01-18", "sent"),  # F attempts the quiz on 01-19: a return
]
LESSONS = [(1, "first-a", "2026-01-10"), (3, "first-a", "2026-02-04"), (3, "first-b", "2026-02-20")]
ATTEMPTS = [(6, "2026-01-19")]


def add_activity_and_reminders(
    course: Course, users: dict[str, User], enrolments: dict[int, Enrolment]
) -> None:
    version = course.current_version_id
    for number, lesson, day in LESSONS:
        db.session.add(LessonCompletion(enrolment_id=enrolments[number].id, lesson_slug=lesson,
                                        version_id=version, completed_at=at(day)))  # fmt: skip
    quiz = db.session.scalar(select(Quiz).join(Module).where(Module.version_id == version,
                                                             Module.slug == "first-steps"))  # fmt: skip
    assert quiz is not None
    for number, day in ATTEMPTS:
        attempt = QuizAttempt(
            enrolment_id=enrolments[number].id,
            quiz_id=quiz.id,
            module_slug="first-steps",
            score=40,
            passed=False,
            answers={},
            results=[],
            submitted_at=at(day),
        )
        db.session.add(attempt)
    for who, rule, day, status in REMINDERS:
        sent = at(day) if status == "sent" else None
        bundle = ReminderBundle(
            user_id=users[who].id,
            local_date=date.fromisoformat(day),
            status=status,
            attempts=1,
            due_at=at(day),
            sent_at=sent,
        )
        db.session.add(bundle)
        db.session.flush()
        sending = ReminderSending(
            user_id=users[who].id,
            rule=rule,
            course_id=course.id,
            subject="course",
            period=day,
            local_date=date.fromisoformat(day),
            due_at=at(day),
            bundle_id=bundle.id,
        )
        db.session.add(sending)


@pytest.fixture
def staff_client(
    app: Flask, create_user: Callable[..., User], login: Callable[[FlaskClient, User], None]
) -> FlaskClient:
    """A browser signed in as a secretariat officer."""
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    officer = create_user(roles=("secretariat",), email="officer@escap.example.org", full_name="Officer",
                          country="TH")  # fmt: skip
    login(client, officer)
    return client


@pytest.fixture
def staff_headers(
    create_user: Callable[..., User], api_token: Callable[[User], dict[str, str]]
) -> dict[str, Any]:
    officer = create_user(roles=("secretariat",), email="api-officer@escap.example.org")
    return api_token(officer)


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Export tasks queued after a commit; the test runs them through Celery (eagerly) when it chooses.

    An eager task started from inside the commit hook would share the test's session while it commits."""
    from learning.reports import tasks

    ids: list[int] = []
    monkeypatch.setattr(tasks.export_report, "delay", lambda job_id: ids.append(job_id))
    return ids


def run_queued(app: Flask, ids: list[int]) -> None:
    """Run the queued export tasks through this app's Celery (a shared task used directly runs under the
    Celery app made last, which other tests' apps may have replaced)."""
    from learning.reports.tasks import export_report

    task = app.extensions["celery"].tasks[export_report.name]
    while ids:
        task.apply(args=[ids.pop(0)]).get()
