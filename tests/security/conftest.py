"""A world of two courses for the route-by-route security tests, built once on a committed database.

Course X (harbour-basics, owned by trainer X) and course Y (quay-safety, co-authored by trainer Y);
learners A and B both study X (lessons, quiz attempts, a capstone plan each, a cohort) and have completed Y
(a certificate each); the secretariat and the admin have an export job each; X has an open draft, an
uploaded image and an invitation. Each principal holds a real web session (signed in through the form, with
its CSRF token) and a bearer token.

Every URL is filled with the objects of learner A and course X: the tests read from the permissions table
who may reach them. Each test runs in a transaction rolled back at its end (as in tests/conftest.py), and
``World.call`` can also roll back each single request.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, select
from sqlalchemy.orm import sessionmaker
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from learning.auth import services as auth
from learning.auth.models import User
from learning.authoring.services import open_draft
from learning.capstone import services as capstone
from learning.capstone.models import CapstoneSubmission
from learning.catalog.models import Course, CourseMember, CourseVersion, Module
from learning.certificates import services as certificates
from learning.certificates.models import Certificate
from learning.cohorts import services as cohorts
from learning.db import utcnow
from learning.extensions import db
from learning.progress import services as progress
from learning.progress.services import clear_outline_cache
from learning.quizzes.models import Quiz
from learning.quizzes.services import submit_attempt
from learning.reminders.links import unsubscribe_token
from learning.reports import jobs
from learning.security.permissions import TABLE, Access
from learning.storage import storage
from learning.uploads import Upload
from tests.capstone.conftest import PDF, SECTIONS, capstone_block
from tests.conftest import FIXTURE_CONTENT, Browser, TestSession, csrf_from, post_form, queued_celery
from tests.fixtures.completion import complete_course
from tests.fixtures.databases import committed_app
from tests.fixtures.factories import PASSWORD

PRINCIPALS = ("anonymous", "learner_a", "learner_b", "trainer_x", "trainer_y", "secretariat", "admin")
ROLES = {
    "trainer_x": {"trainer"},
    "trainer_y": {"trainer"},
    "secretariat": {"secretariat"},
    "admin": {"admin"},
}
# Who passes each object check of the table (learning.security.permissions.SCOPES) when the URL holds the
# objects of learner A and course X. None: anyone who passes the role check.
SCOPE_PASSES: dict[str | None, set[str] | None] = {
    None: None,
    "self": None,
    "token": None,
    "library": None,  # the URL holds a plan in the library: learner B's, in course Y
    "enrolled": {"learner_a", "learner_b"},
    "owner": {"learner_a"},
    "holder_or_staff": {"learner_a", "secretariat", "admin"},
    "owner_or_admin": {"secretariat", "admin"},  # the job is the secretariat's
    "course_author": {"trainer_x", "admin"},
}
# Tables a GET may write: the per-address rate-limit counters of public look-ups (learning/throttle.py).
# Counting requests is their purpose (a limit that GETs could not count could not limit), and they hold
# nothing about any user, course or certificate.
BOOKKEEPING = frozenset({"throttle_counters"})
# Audit events that record a read: who took a copy of a course's material (a bundle download, page or API).
# An access record appended by a read changes nothing the read shows; the checksum leaves out exactly these
# rows of audit_events, and every other audit event counts.
AUDITED_READS = frozenset({"bundle.export"})
PRIVATE_NAME = "Alpha Privatelearner"
PRIVATE_PLAN = "ALPHA-PLAN-where-we-stand"
IMAGE = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 20


def expected(access: Access, principal: str) -> str:
    """What the table says ``principal`` gets: "reached" (the view ran), "login" or "denied"."""
    if access.public:
        return "reached"
    if principal == "anonymous":
        return "login"
    if access.roles and not access.roles & ROLES.get(principal, set()):
        return "denied"
    passes = SCOPE_PASSES[access.scope]
    return "reached" if passes is None or principal in passes else "denied"


@dataclass
class Principal:
    name: str
    cookie: str  # the session cookie, CSRF token included
    csrf: str
    bearer: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    app: Flask
    principals: dict[str, Principal]
    values: dict[str, Any]  # URL arguments: learner A's and course X's objects
    special: dict[str, dict[str, Any]]  # arguments for one endpoint only: its <token>, the image's <name>
    ids: dict[str, Any]  # further ids the tests use
    client: FlaskClient
    connection: Connection | None = None

    def path(self, rule: Rule, **override: Any) -> str:
        given = {**self.values, **self.special.get(rule.endpoint, {}), **override}
        values = {name: given[name] for name in rule.arguments}
        built = rule.build(values, append_unknown=False)
        assert built is not None, rule.rule
        return built[1]

    def call(
        self,
        principal: str,
        method: str,
        path: str,
        *,
        api: bool,
        data: dict[str, Any] | None = None,
        json: Any = None,
        csrf: str | None = "own",
        rollback: bool = False,
        cookie: bool | None = None,
        bearer: bool = True,
    ) -> TestResponse:
        """One request as ``principal``: the session cookie for pages, the bearer token for the API."""
        who = self.principals[principal]
        headers = dict(who.bearer) if api and bearer else {}
        if cookie if cookie is not None else not api:
            headers["Cookie"] = f"academy_session={who.cookie}"
        body = dict(data or {})
        if method not in ("GET", "HEAD") and not api and csrf is not None:
            body["csrf_token"] = who.csrf if csrf == "own" else csrf
        kwargs: dict[str, Any] = {"headers": headers}
        if json is not None:
            kwargs["json"] = json
        elif method not in ("GET", "HEAD"):
            kwargs["data"] = body
        assert self.connection is not None
        savepoint = self.connection.begin_nested() if rollback else None
        try:
            response = self.client.open(path, method=method, **kwargs)
            response.close()
            return response
        finally:
            if savepoint is not None:
                savepoint.rollback()

    def checksum(self, skip: frozenset[str] = frozenset()) -> dict[str, str]:
        """A digest of every table's rows (in primary-key order), by table; ``skip`` names tables left out,
        and the audit events of reads (AUDITED_READS) are always left out."""
        assert self.connection is not None
        digests = {}
        for table in db.metadata.sorted_tables:
            if table.name in skip:
                continue
            query = select(table).order_by(*table.primary_key.columns)
            if table.name == "audit_events" and "audit_events" not in skip:
                query = query.where(table.c.action.not_in(AUDITED_READS))
            rows = self.connection.execute(query).all()
            digests[table.name] = hashlib.sha256(repr([tuple(row) for row in rows]).encode()).hexdigest()
        return digests


def outcome(response: TestResponse, access: Access, api: bool) -> str:
    """Classify an answer: "login" (401, or the sign-in page), "denied" (403, 404, or for a course the
    learner does not study, the course page to enrol) or "reached" (anything else: the view ran)."""
    status, location = response.status_code, response.headers.get("Location", "")
    if status == 401 or (status in (302, 303) and location.startswith("/login")):
        return "login"
    if status in (403, 404):
        return "denied"
    if access.scope == "enrolled" and status == 302 and location == "/courses/harbour-basics":
        return "denied"
    return "reached"


def _two_courses(tmp: Path) -> Path:
    root = tmp / "content"
    shutil.copytree(FIXTURE_CONTENT / "harbour-basics", root / "harbour-basics")
    shutil.copytree(FIXTURE_CONTENT / "harbour-basics", root / "quay-safety")
    course_file = root / "quay-safety" / "course.yaml"
    text = course_file.read_text().replace("slug: harbour-basics", "slug: quay-safety")
    course_file.write_text(text.replace("title: Harbour basics", "title: Quay safety"))
    return root


def _user(email: str, name: str, roles: set[str]) -> User:
    profile = auth.Profile(name, "TH", "Marine Department", "maritime_administration", "Officer", "en",
                           "Asia/Bangkok", True)  # fmt: skip
    return auth.create_user(email, PASSWORD, profile, roles)


def _build(app: Flask) -> tuple[dict[str, User], dict[str, Any], dict[str, dict[str, Any]], dict[str, Any]]:
    course_x = db.session.scalar(select(Course).where(Course.slug == "harbour-basics"))
    course_y = db.session.scalar(select(Course).where(Course.slug == "quay-safety"))
    assert course_x is not None and course_y is not None
    users = {
        "learner_a": _user("alpha@example.org", PRIVATE_NAME, set()),
        "learner_b": _user("bravo@example.org", "Bravo Learner", set()),
        "trainer_x": _user("trainer.x@example.org", "Trainer X", {"trainer"}),
        "trainer_y": _user("trainer.y@example.org", "Trainer Y", {"trainer"}),
        "secretariat": _user("secretariat@example.org", "Secretariat", {"secretariat"}),
        "admin": _user("admin@example.org", "Admin", {"admin"}),
    }
    db.session.add(CourseMember(course_id=course_x.id, user_id=users["trainer_x"].id, role="owner"))
    # trainer Y co-authors Y (a co-author may do what an owner does, but for the members, which are admins')
    db.session.add(CourseMember(course_id=course_y.id, user_id=users["trainer_y"].id, role="co_author"))
    version_x = db.session.get(CourseVersion, course_x.current_version_id)
    assert version_x is not None
    version_x.capstone = capstone_block(False)
    db.session.flush()
    # Both learners: part of X (a lesson, a failed attempt at the first quiz, a plan), all of Y.
    quiz_x = db.session.scalar(
        select(Quiz).join(Module).where(Module.version_id == version_x.id, Module.slug == "first-steps")
    )
    assert quiz_x is not None
    attempts, plans, certificate_of = {}, {}, {}
    for name, text in (("learner_a", PRIVATE_PLAN), ("learner_b", "Bravo's plan")):
        user = users[name]
        enrolment = progress.enrol(user, course_x)
        progress.complete_lesson(enrolment, "first-a")
        wrong = {q.id: [next(c.id for c in q.choices if not c.is_correct)] for q in quiz_x.questions}
        attempt, _grade = submit_attempt(enrolment, quiz_x, wrong)
        attempts[name] = attempt.id
        sections = {"where-you-stand": text, "what-you-will-do": text}
        attachment = Upload(PDF, "application/pdf", "pdf")
        plan = capstone.save(enrolment, sections, attachment, "plan.pdf", submit=name == "learner_a")
        plans[name] = plan.id
        done = progress.enrol(user, course_y)
        complete_course(done)
        db.session.flush()
        certificate = certificates.issue_for_enrolment(done.id)
        assert certificate is not None
        certificates.render_and_store(
            certificate.id, certificate.serial, certificates.content_of(certificate)
        )
        certificate_of[name] = certificate.id
    # learner B's plan in Y, accepted and shared: the good practice library's one plan
    version_y = db.session.get(CourseVersion, course_y.current_version_id)
    assert version_y is not None
    version_y.capstone = capstone_block(False)
    enrolment_b_y = progress.find_enrolment(users["learner_b"], course_y)
    assert enrolment_b_y is not None
    storage().save("capstone/library-plan.pdf", PDF)
    now = utcnow()
    shared = CapstoneSubmission(
        enrolment_id=enrolment_b_y.id, sections=dict.fromkeys(SECTIONS, "Single window."), status="accepted",
        submitted_at=now, reviewed_at=now, shareable_at=now, attachment_key="capstone/library-plan.pdf",
        attachment_name="plan.pdf", attachment_type="application/pdf", attachment_size=len(PDF),
    )  # fmt: skip
    db.session.add(shared)
    db.session.flush()
    cohort_x = cohorts.create_cohort(
        course_x, "Intake X", date(2027, 1, 1), date(2027, 3, 1), users["trainer_x"]
    )
    cohort_y = cohorts.create_cohort(
        course_y, "Intake Y", date(2027, 1, 1), date(2027, 3, 1), users["trainer_y"]
    )
    for user in (users["learner_a"], users["learner_b"]):
        cohorts.join(cohort_x, user, course_x)
    cohorts.join(cohort_y, users["learner_b"], course_y)
    applied = cohorts.apply_roster(
        cohort_x, cohorts.roster_from_text("newcomer@example.org"), users["trainer_x"]
    )
    [(_email, invitation)] = applied.invited
    open_draft(course_x, users["trainer_x"])
    job = jobs.start_export(users["secretariat"].id, "funnel", {}, "csv", 1)
    admin_job = jobs.start_export(users["admin"].id, "funnel", {}, "csv", 1)
    db.session.commit()
    jobs.run_export(job.id)
    jobs.run_export(admin_job.id)
    found = auth.request_password_reset("alpha@example.org")
    assert found is not None
    profile = auth.Profile("Pending Person", "TH", None, "other", None, "en", "UTC", False)
    outcome, registration = auth.start_registration("pending@example.org", "a long passphrase", profile)
    assert outcome == "confirm" and registration is not None
    image = hashlib.sha256(IMAGE).hexdigest() + ".png"
    storage().save(f"images/{image}", IMAGE)
    db.session.commit()
    certificate_a = db.session.get(Certificate, certificate_of["learner_a"])
    assert certificate_a is not None
    quiz_y = db.session.scalar(
        select(Quiz)
        .join(Module)
        .where(Module.version_id == course_y.current_version_id, Module.slug == "first-steps")
    )
    assert quiz_y is not None
    values = {
        "slug": "harbour-basics", "lesson_slug": "first-a", "lesson": "first-a", "module": "first-steps",
        "question": "first-single", "number": 1, "quiz_id": quiz_x.id, "attempt_id": attempts["learner_a"],
        "serial": certificate_a.serial, "code": certificate_a.code, "kid": "test", "cohort_id": cohort_x.id,
        "submission_id": plans["learner_a"], "job_id": job.id, "name": "funnel", "fmt": "csv",
        "filename": "academy.css",
    }  # fmt: skip
    special = {
        "auth.reset_password": {"token": found[1]},
        "auth.confirm_registration": {"token": registration},
        "cohorts.invitation": {"token": invitation},
        "reminders.unsubscribe": {"token": unsubscribe_token(users["learner_a"].id)},
        "media.image": {"name": image},
        # a learner of no one's: the walk's erasure requests never reach anyone the other tests use
        "privacy.erase_account_on_request": {"user_id": _user("spare@example.org", "Spare", set()).id},
        **{
            f"reports.{name}": {"submission_id": shared.id}
            for name in ("good_practice_plan", "good_practice_markdown", "good_practice_attachment")
        },
    }
    right = {q.id: [c.id for c in q.choices if c.is_correct] for q in quiz_x.questions}
    certificate_b = db.session.get(Certificate, certificate_of["learner_b"])
    assert certificate_b is not None
    ids = {
        "admin_job": admin_job.id,
        "answers_x": right,
        "serial_b": certificate_b.serial,
        "attempts": attempts,
        "plans": plans,
        "certificates": certificate_of,
        "quiz_y": quiz_y.id,
        "cohort_y": cohort_y.id,
        "image": image,
        "library_plan": shared.id,
    }
    return users, values, special, ids


def _sign_in(app: Flask, name: str, email: str | None, bearer: str | None, number: int) -> Principal:
    client = app.test_client()
    client.environ_base.update({"wsgi.url_scheme": "https", "REMOTE_ADDR": f"10.0.0.{number}"})
    if email is not None:
        response = post_form(client, "/login", {"email": email, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)
    csrf = csrf_from(client.get("/account" if email else "/login").get_data(as_text=True))
    cookie = client.get_cookie("academy_session")
    assert cookie is not None
    return Principal(name, cookie.value, csrf, {"Authorization": f"Bearer {bearer}"} if bearer else {})


@pytest.fixture(scope="package")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("world")
    overrides = {
        "CELERY": queued_celery(),  # tasks are published and never run: no request starts a worker's work
        "REPORT_EXPORT_PATH": str(tmp / "exports"),
        "MAIL_FILE_PATH": str(tmp / "mail"),
        "CERTIFICATE_LOOKUPS_PER_MINUTE": 100_000,  # throttling has its own tests
    }
    with committed_app(tmp, content=_two_courses(tmp), **overrides) as app:
        app.test_client_class = Browser  # a fresh application context (and g) for every request
        with app.app_context():
            users, values, special, ids = _build(app)
            signing_in = {name: (user.email, auth.create_api_token(user)[0]) for name, user in users.items()}
            ids["users"] = {name: user.id for name, user in users.items()}
            db.session.commit()
            db.session.remove()  # no transaction stays open while the requests below write
        principals = {
            name: _sign_in(app, name, *signing_in.get(name, (None, None)), number)
            for number, name in enumerate(PRINCIPALS, 1)
        }
        client = app.test_client(use_cookies=False)
        client.environ_base.update({"wsgi.url_scheme": "https", "REMOTE_ADDR": "10.0.1.1"})
        yield World(app, principals, values, special, ids, client)


@contextmanager
def rolled_back(world: World) -> Iterator[World]:
    """Run in a transaction rolled back at the end, as every test of tests/conftest.py does."""
    app = world.app
    app.extensions["celery"].set_current()
    app.extensions["celery"].set_default()
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        db.session = TestSession(sessionmaker(bind=connection, join_transaction_mode="create_savepoint"))
        clear_outline_cache()
        world.connection = connection
        try:
            yield world
        finally:
            world.connection = None
            db.session.close_for_good()
            db.session = original
            outer.rollback()
            connection.close()
            clear_outline_cache()


@pytest.fixture
def in_world(world: World) -> Iterator[World]:
    with rolled_back(world) as ready:
        yield ready


def routes(app: Flask) -> list[tuple[Rule, str]]:
    """Every rule of the URL map with each of its methods (OPTIONS, answered by Flask itself, left out)."""
    return [
        (rule, method)
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))
        for method in sorted(rule.methods - {"OPTIONS"})
    ]


def access_of(rule: Rule) -> Access:
    access = TABLE.get(rule.endpoint)
    assert access is not None, f"{rule.endpoint} is not in the permissions table"
    return access
