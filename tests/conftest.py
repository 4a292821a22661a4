"""Shared fixtures: one app and schema per run, one rolled-back transaction per test.

Set TEST_DATABASE_URL to run the whole suite on PostgreSQL instead of a SQLite file.

Tests marked ``postgres``, ``browser`` or ``broker`` are skipped where what they need is missing, so that a
fresh machine passes. ``ACADEMY_REQUIRE`` (a comma-separated list of those names, set by .ci/run) turns each
such skip into a failure, and also fails a run that requires a leg it did not collect or cannot run.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
from celery.signals import task_postrun, task_prerun
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import scoped_session, sessionmaker

from learning import create_app
from learning.config import defaults
from learning.content.spec import read_content
from learning.content.sync import sync_course
from learning.extensions import db
from learning.progress.services import clear_outline_cache

pytest_plugins = [
    "tests.fixtures.factories",
    "tests.fixtures.smtp",
    "tests.fixtures.api",
    "tests.fixtures.completion",
    "tests.fixtures.leaks",
    "pytester",
]

FIXTURE_CONTENT = Path(__file__).parent / "fixtures" / "content"
TEST_SECRET = "test-secret-key-that-is-long-enough-for-production-checks"
# A fixed certificate signing key (KID:SEED), so that tests never write one into the instance folder.
TEST_SIGNING_KEY = "test:Y2mZt7Kky13EHBe8u_iQxfclf-DGmoihnnu2Mae5TE4"


def queued_celery() -> dict[str, Any]:
    """Celery settings under which tasks are only published (to an in-memory broker), as from a web
    server whose worker runs elsewhere: for tests of concurrent requests, which eager tasks would slow."""
    return {
        **defaults(tempfile.gettempdir())["CELERY"],
        "broker_url": "memory://",
        "task_always_eager": False,
    }


REQUIRABLE = ("postgres", "browser", "broker")
# Debian's Chromium (package chromium); tests never download a browser of their own.
CHROMIUM = os.environ.get("TEST_CHROMIUM") or "/usr/bin/chromium"


def required() -> frozenset[str]:
    """The legs that ACADEMY_REQUIRE says must run rather than be skipped."""
    names = os.environ.get("ACADEMY_REQUIRE", "").split(",")
    return frozenset(name.strip().lower() for name in names if name.strip())


def unavailable(leg: str, reason: str) -> NoReturn:
    """Skip the current test because ``leg`` is missing, or fail it if ACADEMY_REQUIRE names ``leg``."""
    if leg in required():
        pytest.fail(f"{reason} (ACADEMY_REQUIRE names {leg!r}: a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql:", "postgresql+", "postgres:"))


@functools.cache
def missing_legs() -> dict[str, str]:
    """The optional legs this machine cannot run, each with the reason."""
    missing = {}
    if not is_postgres(os.environ.get("TEST_DATABASE_URL", "")):
        missing["postgres"] = "needs PostgreSQL: set TEST_DATABASE_URL=postgresql://..."
    if not (os.access(CHROMIUM, os.X_OK) or shutil.which(CHROMIUM)):
        missing["browser"] = f"needs Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
    elif importlib.util.find_spec("playwright") is None:
        missing["browser"] = "needs the playwright package (pip install -e '.[test]')"
    if not os.environ.get("TEST_BROKER_URL"):
        missing["broker"] = "needs a broker: set TEST_BROKER_URL"
    return missing


def pytest_configure(config: pytest.Config) -> None:
    unknown = required() - set(REQUIRABLE)
    if unknown:
        known = ", ".join(REQUIRABLE)
        raise pytest.UsageError(f"ACADEMY_REQUIRE: unknown {', '.join(sorted(unknown))}; known: {known}")
    if "postgres" in required() and "postgres" in missing_legs():
        raise pytest.UsageError("ACADEMY_REQUIRE names 'postgres' but TEST_DATABASE_URL is no PostgreSQL URL")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Skipped by a marker, so that the report names the test rather than this file.
    for item in items:
        for leg, reason in missing_legs().items():
            if item.get_closest_marker(leg) and leg not in required():
                item.add_marker(pytest.mark.skip(reason=reason))


def pytest_collection_finish(session: pytest.Session) -> None:
    # A required leg whose tests were all left out (renamed, deselected, not collected) did not run.
    for leg in sorted(required() - {"postgres"}):
        if not any(item.get_closest_marker(leg) for item in session.items):
            raise pytest.UsageError(f"ACADEMY_REQUIRE names {leg!r} but no test marked {leg!r} was collected")


def pytest_runtest_setup(item: pytest.Item) -> None:
    for leg, reason in missing_legs().items():
        if item.get_closest_marker(leg):
            unavailable(leg, reason)


def app_config(url: str, **overrides: Any) -> dict[str, Any]:
    """Settings for an app under test: eager Celery in-process, the fixture course, a fixed key."""
    celery = {
        **defaults(tempfile.gettempdir())["CELERY"],
        "broker_url": "memory://",
        "task_always_eager": True,
        "task_eager_propagates": True,
    }
    return {
        "ACADEMY_ENV": "testing",
        "SECRET_KEY": TEST_SECRET,
        "SQLALCHEMY_DATABASE_URI": url,
        "CONTENT_PATH": str(FIXTURE_CONTENT),
        "CELERY": celery,
        "MAIL_BACKEND": "file",
        "BASE_URL": "http://localhost",
        "CERTIFICATE_SIGNING_KEY": TEST_SIGNING_KEY,
        "STORAGE_PATH": str(Path(tempfile.gettempdir()) / "academy-test-storage"),
        **overrides,
    }


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The app under test, on a database of its own: a SQLite file, or with TEST_DATABASE_URL a new
    PostgreSQL database on that server (so that parallel runs never share tables), dropped at the end."""
    from tests.fixtures.databases import separate_database

    with separate_database(tmp_path_factory.mktemp("db")) as url:
        app = create_app(
            app_config(
                url,
                MAIL_FILE_PATH=str(tmp_path_factory.mktemp("mail")),
                STORAGE_PATH=str(tmp_path_factory.mktemp("storage")),
            )
        )
        app.test_client_class = Browser
        with app.app_context():
            db.create_all()
            courses, problems = read_content(FIXTURE_CONTENT)
            assert not problems, problems
            for course in courses:
                sync_course(course)
            db.session.commit()
            db.session.remove()
        yield app
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


# Eager tasks run inside the committing session's after_commit hook, where that session cannot emit SQL;
# under a real worker a task has a session of its own, and so it does here: one per task depth.
_task_depth = [0]


@task_prerun.connect
def _task_started(**_: Any) -> None:
    _task_depth[0] += 1


@task_postrun.connect
def _task_ended(**_: Any) -> None:
    _task_depth[0] -= 1


class TestSession(scoped_session):  # type: ignore[type-arg]
    """The test's session: requests end with remove(), which here only rolls back to the savepoint,
    so that the test's objects stay attached until the test's own rollback. An eager task gets its own
    session on the same connection (its commits release savepoints), closed when the task ends."""

    def __init__(self, factory: sessionmaker) -> None:  # type: ignore[type-arg]
        super().__init__(factory, scopefunc=lambda: _task_depth[0])

    def remove(self) -> None:
        if not self.registry.has():
            return
        if _task_depth[0]:
            super().remove()
            return
        session = self.registry()
        transaction = session.get_transaction()
        # An eager task run from an after-commit hook ends its own app context while the request's
        # session is still committing; under a real server that context has a session of its own.
        if transaction is None or transaction.is_active:
            session.rollback()

    def close_for_good(self) -> None:
        super().remove()


class Browser(FlaskClient):
    """A test client whose every request gets a fresh application context (and so a fresh ``g``),
    as under a real server, even while the test itself holds one."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        # buffered: a streamed body is read while its context is still the current one
        kwargs.setdefault("buffered", True)
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(autouse=True)
def _transaction(request: pytest.FixtureRequest) -> Iterator[None]:
    """Run each test inside a transaction that is rolled back at its end."""
    if "app" not in request.fixturenames or request.node.get_closest_marker("no_rollback"):
        yield
        return
    app: Flask = request.getfixturevalue("app")
    # Tasks find their Celery app through the current (and default) one, which the last create_app() set:
    # make it this app's again, so that eager tasks use this app's settings (storage, mail).
    app.extensions["celery"].set_current()
    app.extensions["celery"].set_default()
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        db.session = TestSession(sessionmaker(bind=connection, join_transaction_mode="create_savepoint"))
        clear_outline_cache()
        try:
            yield
        finally:
            db.session.close_for_good()
            db.session = original
            outer.rollback()
            connection.close()
            clear_outline_cache()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A browser on HTTPS, so that it sends the Secure session cookie back as a real one would."""
    test_client = app.test_client()
    test_client.environ_base["wsgi.url_scheme"] = "https"
    return test_client


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    """Return the CSRF token of the first form in a page."""
    match = CSRF.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1) or match.group(2)


def post_form(
    client: FlaskClient, page: str, data: dict[str, Any], action: str | None = None, **kwargs: Any
) -> Any:
    """GET ``page``, take its CSRF token and POST ``data`` to ``action`` (default: the same page)."""
    html = client.get(page).get_data(as_text=True)
    return client.post(action or page, data={"csrf_token": csrf_from(html), **data}, **kwargs)
