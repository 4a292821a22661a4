"""The fuzzers' world (a user who may reach every form, and real ids for every URL argument), Hypothesis
profiles, and a per-example reset so that what one example commits never reaches the next.

Sizes: FUZZ_EXAMPLES cases per form class (default 50, 1,000 in CI's PostgreSQL leg, which sets it; a tenth
of that per URL rule and per further route
of an already fuzzed form) and FUZZ_API_CALLS calls to the JSON API (default 2,000); the closing note's
figures come from FUZZ_EXAMPLES=10000 FUZZ_API_CALLS=10000.

The CI profile is derandomized: the same cases run on every CI run, so that a red CI is always reproducible
and always caused by the change under test, never by a case met by chance. Set FUZZ_SEED (any integer) or
FUZZ_RANDOM=1 for runs that explore new cases; each then prints its seed, and FUZZ_SEED replays it.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker
from werkzeug.datastructures import FileStorage
from werkzeug.test import run_wsgi_app

from learning.auth.models import User
from learning.capstone import services as capstone
from learning.catalog.models import Course, CourseMember, CourseVersion
from learning.certificates.models import Certificate
from learning.cohorts import services as cohorts
from learning.extensions import db
from learning.progress.models import Enrolment
from learning.progress.services import clear_outline_cache
from learning.quizzes.models import Quiz
from learning.reminders.links import unsubscribe_token
from tests.capstone.conftest import capstone_block
from tests.conftest import Browser, TestSession, csrf_from
from tests.fixtures.completion import complete_course

# Defaults for a developer's run on PostgreSQL: 50 cases per form class and 2,000 API calls, about two
# minutes on a 2-core machine (about 30 ms of CPU per form or URL request and per API call, measured). CI's
# PostgreSQL leg sets FUZZ_EXAMPLES=1000 (.ci/run): about 20 minutes of CPU, forms, URLs and API together.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or 50)
API_CALLS = int(os.environ.get("FUZZ_API_CALLS") or 2000)
EXPLICIT = bool(os.environ.get("FUZZ_EXAMPLES") or os.environ.get("FUZZ_API_CALLS"))
SEED = os.environ.get("FUZZ_SEED")
RANDOM = bool(SEED) or os.environ.get("FUZZ_RANDOM", "") not in ("", "0")

settings.register_profile(
    "fuzz",
    max_examples=EXAMPLES,
    # never a timing assertion: a slow example on a loaded machine is not a failure
    deadline=None,
    derandomize=not RANDOM,
    # the failures are kept in the test output, not in a .hypothesis folder in the working tree
    database=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.function_scoped_fixture,
        HealthCheck.filter_too_much,
    ],
)


def fuzz_settings(max_examples: int = EXAMPLES) -> settings:
    """The fuzz profile with ``max_examples`` cases."""
    return settings(settings.get_profile("fuzz"), max_examples=max_examples)


def seed_of(test: Callable[..., Any]) -> Callable[..., Any]:
    """Apply FUZZ_SEED to an inner @given function, when set."""
    from hypothesis import seed

    return seed(int(SEED))(test) if SEED else test


@pytest.fixture(autouse=True)
def _fuzz_leg() -> None:
    """The fuzzers run in the PostgreSQL leg only, or wherever FUZZ_EXAMPLES or FUZZ_API_CALLS is set.

    PostgreSQL is the stricter of the two (lengths of VARCHAR columns, integer ranges and NUL characters
    are refused there, accepted by SQLite), and the code paths are otherwise the same: running them on
    SQLite too would double their time for nothing found."""
    from tests.conftest import is_postgres

    if not (EXPLICIT or is_postgres(os.environ.get("TEST_DATABASE_URL", ""))):
        pytest.skip("the fuzzers run in the PostgreSQL leg (set FUZZ_EXAMPLES to run them here)")


class FuzzBrowser(Browser):
    """The suite's test client, but matching its cookies by host and path alone.

    Werkzeug's client rebuilds and unquotes the whole URL, query string included, twice per request to find
    the cookies that apply; with the fuzzers' megabyte query strings that was two thirds of the URL
    fuzzer's CPU (cProfile, 550 requests). A real server never does it, and cookies never depend on the
    query string.
    """

    def run_wsgi_app(self, environ: dict[str, Any], buffered: bool = False) -> Any:
        host = urlsplit("//" + (environ.get("HTTP_HOST") or environ["SERVER_NAME"])).hostname or "localhost"
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        if self._cookies is not None:  # noqa: SLF001 - the same jar as the parent class's
            value = "; ".join(
                cookie._to_request_header()  # noqa: SLF001
                for cookie in self._cookies.values()  # noqa: SLF001
                if cookie._matches_request(host, path)  # noqa: SLF001
            )
            if value:
                environ["HTTP_COOKIE"] = value
            else:
                environ.pop("HTTP_COOKIE", None)
        answer = run_wsgi_app(self.application, environ, buffered=buffered)
        self._update_cookies_from_response(host, path, answer[2].getlist("Set-Cookie"))
        return answer


@pytest.fixture(autouse=True)
def _untraced() -> Iterator[None]:
    """Coverage's tracing is paused while a fuzzer runs: under it the fuzzers at CI size took about twice
    as long (more than half an hour for the forms in CI's PostgreSQL leg), and they are there to find 500s,
    not to measure coverage, which the rest of the suite does."""
    import coverage

    tracing = coverage.Coverage.current()
    if tracing is None:
        yield
        return
    tracing.stop()
    try:
        yield
    finally:
        tracing.start()


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """The fuzzers' own app and database (the world is committed, each example rolled back; see
    ``isolated``), so that nothing of theirs reaches the suite's shared database."""
    from tests.fixtures.databases import committed_app

    with committed_app(tmp_path, MAIL_FILE_PATH=str(tmp_path / "mail")) as fuzz_app:
        fuzz_app.test_client_class = FuzzBrowser
        with fuzz_app.app_context():
            # as in the suite, an eager task run from a commit's hook gets a session of its own
            original = db.session
            db.session = TestSession(sessionmaker(bind=db.engine))
            try:
                yield fuzz_app
            finally:
                db.session.close_for_good()
                db.session = original


@dataclass
class World:
    """Real values for the URL arguments of every route, and the signed-in client that uses them."""

    client: FlaskClient
    user: User
    values: dict[str, Any] = field(default_factory=dict)
    token: str = ""
    # a client nobody signed in on, with its own CSRF token
    anonymous: FlaskClient | None = None
    anonymous_token: str = ""

    def principals(self) -> list[tuple[str, FlaskClient, str]]:
        assert self.anonymous is not None
        return [("signed in", self.client, self.token), ("anonymous", self.anonymous, self.anonymous_token)]


@pytest.fixture
def world(app: Flask, client: FlaskClient, create_user: Callable[..., User], course: Course) -> World:
    """A user with every role who owns the fixture course, is enrolled in it, has a draft open, a cohort,
    a capstone plan of their own and another learner's plan to review; the client is signed in as them."""
    from tests.conftest import post_form

    user = create_user(roles=("learner", "trainer", "secretariat", "admin"))
    other = create_user()
    db.session.add(CourseMember(course_id=course.id, user_id=user.id, role="owner"))
    version = db.session.get(CourseVersion, course.current_version_id)
    assert version is not None
    version.capstone = capstone_block(required=False)
    db.session.commit()
    response = post_form(client, "/login", {"email": user.email, "password": "correct horse battery staple"})
    assert response.status_code == 302
    from learning.progress import services as progress

    for learner in (user, other):
        progress.enrol(learner, course)
    db.session.commit()
    enrolment = db.session.scalar(select(Enrolment).where(Enrolment.user_id == other.id))
    assert enrolment is not None
    certificate_of = complete(enrolment)
    submission = capstone.save(
        enrolment, {"where-you-stand": "Here.", "what-you-will-do": "That."}, None, None, True
    )
    cohort = cohorts.create_cohort(
        course, "Fuzz cohort", version.published_at.date(), version.published_at.date(), user
    )
    db.session.commit()
    response = post_form(
        client, f"/authoring/courses/{course.slug}", {}, f"/authoring/courses/{course.slug}/draft"
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    quiz = db.session.scalar(select(Quiz).order_by(Quiz.id))
    assert quiz is not None
    token = csrf_from(client.get("/account").get_data(as_text=True))
    anonymous = app.test_client()
    anonymous.environ_base["wsgi.url_scheme"] = "https"
    anonymous_token = csrf_from(anonymous.get("/login").get_data(as_text=True))
    values = {
        "slug": course.slug,
        "lesson": "first-a",
        "lesson_slug": "first-a",
        "module": "first-steps",
        "question": "first-single",
        "quiz_id": quiz.id,
        "attempt_id": 1,
        "submission_id": submission.id,
        "cohort_id": cohort.id,
        "number": 1,
        "serial": certificate_of.serial,
        "code": certificate_of.code,
        "token": unsubscribe_token(other.id),
        "kid": "no-such-key",
        "name": "no-such-image.png",
        "job_id": 1,
        "fmt": "csv",
        "filename": "no-such-file.css",
        "user_id": create_user().id,  # a learner of no one's, for the staff erasure form
    }
    db.session.commit()
    return World(
        client=client,
        user=user,
        values=values,
        token=token,
        anonymous=anonymous,
        anonymous_token=anonymous_token,
    )


def complete(enrolment: Enrolment) -> Certificate:
    """Complete the course for ``enrolment`` (its certificate is issued on commit); return the certificate."""
    complete_course(enrolment)
    db.session.commit()
    found = db.session.scalar(select(Certificate).where(Certificate.enrolment_id == enrolment.id))
    assert found is not None
    return found


@contextmanager
def isolated(client: FlaskClient) -> Iterator[None]:
    """Undo what one example commits and restore the client's cookies after it.

    Each example runs in a transaction of its own, rolled back at its end, with the views' commits as
    savepoints inside it (as the suite's per-test transaction does, tests/conftest.py). Not a savepoint in
    one transaction for the whole test: PostgreSQL keeps the lock on the id of each savepoint released inside
    one that is then rolled back until the transaction ends, and 1,000 cases per form ran its shared lock
    table out ("out of shared memory", after about 30 routes at 6,400 locks)."""
    cookies = dict(client._cookies)  # noqa: SLF001
    original = db.session
    connection = db.engine.connect()
    transaction = connection.begin()
    db.session = TestSession(sessionmaker(bind=connection, join_transaction_mode="create_savepoint"))
    try:
        # a fresh ``g``, as under a real server: schemathesis' client reuses the app context it finds
        with client.application.app_context():
            yield
    finally:
        db.session.close_for_good()
        db.session = original
        transaction.rollback()
        connection.close()
        clear_outline_cache()  # an outline read in the rolled back transaction (a published draft) is gone
        client._cookies.clear()  # noqa: SLF001
        client._cookies.update(cookies)  # noqa: SLF001


def upload(data: bytes, filename: str, content_type: str = "application/octet-stream") -> FileStorage:
    return FileStorage(io.BytesIO(data), filename=filename, content_type=content_type)
