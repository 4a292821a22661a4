"""Restarts under load (issue 7, row 13): learners complete lessons and submit quiz attempts over real HTTP
while the database, then the broker, is stopped and started again; a ledger keeps every write the server
acknowledged (2xx).

The servers restarted are the test's own (tests/fixtures/servers.py), never the machine's shared ones:
PostgreSQL is stopped with ``-m immediate`` (no checkpoint: its next start replays the write-ahead log, as
after a crash) and Redis is killed with SIGKILL. Targets: every acknowledged write is in the database
afterwards; every task the web server handed to the broker runs; requests in an outage fail cleanly (503
with Retry-After, never a 500); writes and the readiness probe recover within 30 s of each restart; a task
queued in a transaction that rolls back never runs.

CI runs 40 seconds of load (TEST_RESTART_SECONDS; the issue's two minutes, 120, is the bench size in the
README): both restarts and their recoveries fit in 40 s, and the PostgreSQL leg stays within its budget.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from celery.signals import after_task_publish
from flask import Flask
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from learning import create_app
from learning.auth import services as auth
from learning.catalog.models import Course
from learning.certificates.models import Certificate
from learning.content.spec import read_content
from learning.content.sync import sync_course
from learning.extensions import db
from learning.mail.tasks import send_email
from learning.outbox import after_commit
from learning.progress import services as progress
from learning.progress.models import Enrolment, LessonCompletion
from learning.progress.services import clear_outline_cache
from learning.quizzes.models import Quiz, QuizAttempt
from tests.conftest import FIXTURE_CONTENT, app_config, queued_celery
from tests.fixtures.completion import make_learner
from tests.fixtures.servers import ThrowawayPostgres, ThrowawayRedis
from tests.fixtures.worker import WorkerProcess, celery_worker, new_queue, wait_for

pytestmark = [pytest.mark.no_rollback, pytest.mark.postgres, pytest.mark.broker]

SECONDS = float(os.environ.get("TEST_RESTART_SECONDS", "40"))  # of load; the bench size is 120
OUTAGE = 3.0  # seconds each server stays down
THREADS = 4
RECOVERY = 30  # seconds: the target
LESSONS = ("first-a", "first-b", "second-a", "second-b")
ISSUE = "learning.certificates.tasks.issue_certificate"
DEATHS: list[str] = []  # the end of the log of each worker that exited by itself


@dataclass
class Ledger:
    """What the clients sent and what the server answered."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    lessons: set[tuple[int, str]] = field(default_factory=set)  # acknowledged (user id, lesson)
    attempts: set[int] = field(default_factory=set)  # acknowledged attempt ids
    statuses: Counter[int] = field(default_factory=Counter)
    refused: list[tuple[float, int, str]] = field(default_factory=list)  # (when, status, Retry-After)
    succeeded: list[float] = field(default_factory=list)  # when each acknowledged write started
    errors: Counter[str] = field(default_factory=Counter)  # no answer at all


@dataclass
class Learner:
    user_id: int
    token: str


def build_app(database: str, broker: str, folder: Path) -> Flask:
    app = create_app(
        app_config(
            database,
            CELERY={**queued_celery(), "broker_url": broker},
            CELERY_DEFAULT_QUEUE=new_queue(),
            STORAGE_PATH=str(folder / "storage"),
            MAIL_FILE_PATH=str(folder / "mail"),
            # every completion queues its own task, as before completions in a burst shared one: the test
            # needs tasks waiting in the broker while the worker is paused, and the load's completions
            # thin out by then (every learner's lessons are done by the middle of the run)
            CERTIFICATE_WAKEUP_SECONDS=0,
        )
    )
    with app.app_context():
        db.create_all()
        courses, problems = read_content(FIXTURE_CONTENT)
        assert not problems, problems
        for course in courses:
            sync_course(course)
        db.session.commit()
        db.session.remove()
    return app


def make_learners(app: Flask, count: int) -> list[Learner]:
    with app.app_context():
        course = db.session.scalar(select(Course).where(Course.slug == "harbour-basics"))
        learners = []
        for number in range(count):
            user = make_learner(number)
            progress.enrol(user, course)
            token, _ = auth.create_api_token(user)
            learners.append(Learner(user.id, token))
        db.session.commit()
        db.session.remove()
    return learners


def right_answers(app: Flask) -> list[tuple[int, dict[str, list[int]]]]:
    with app.app_context():
        quizzes = [
            (quiz.id, {str(q.id): [c.id for c in q.choices if c.is_correct] for q in quiz.questions})
            for quiz in db.session.scalars(select(Quiz).order_by(Quiz.id))
        ]
        db.session.remove()
    return quizzes


class Load:
    """Threads that take learners one after the other through the course: every lesson, then every quiz
    (the last one completes the course, whose commit queues the certificate task)."""

    def __init__(self, port: int, learners: list[Learner], quizzes: list[tuple[int, dict[str, list[int]]]]):
        self.port = port
        self.learners = learners
        self.quizzes = quizzes
        self.ledger = Ledger()
        self.stopping = threading.Event()
        self.next = itertools.count()
        self.threads = [threading.Thread(target=self.run, name=f"load-{n}") for n in range(THREADS)]

    def request(self, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            headers = {"Authorization": f"Bearer {token}"}
            payload = None
            if body is not None:
                payload = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            data = response.read()
            answer = (
                json.loads(data)
                if data and response.getheader("Content-Type", "").startswith("application/json")
                else None
            )
            return response.status, answer, response.getheader("Retry-After", "")
        finally:
            connection.close()

    def write(self, learner: Learner, kind: str, what: Any) -> bool:
        """Send one write until it is acknowledged (or the load stops); record every answer."""
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                if kind == "lesson":
                    path = f"/api/v1/courses/harbour-basics/lessons/{what}/completion"
                    status, answer, retry_after = self.request("PUT", path, learner.token)
                else:
                    quiz_id, answers = what
                    path = f"/api/v1/quizzes/{quiz_id}/attempts"
                    status, answer, retry_after = self.request(
                        "POST", path, learner.token, {"answers": answers}
                    )
            except (OSError, http.client.HTTPException) as exc:
                with self.ledger.lock:
                    self.ledger.errors[type(exc).__name__] += 1
                time.sleep(0.2)
                continue
            with self.ledger.lock:
                self.ledger.statuses[status] += 1
                if 200 <= status < 300:
                    self.ledger.succeeded.append(started)
                    if kind == "lesson":
                        self.ledger.lessons.add((learner.user_id, what))
                    else:
                        self.ledger.attempts.add(int(answer["id"]))
                    return True
                self.ledger.refused.append((started, status, retry_after))
            time.sleep(0.2)  # as a client told to retry would, a little sooner than Retry-After
        return False

    def run(self) -> None:
        while not self.stopping.is_set():
            learner = self.learners[next(self.next) % len(self.learners)]
            for lesson in LESSONS:
                if not self.write(learner, "lesson", lesson):
                    return
            for quiz in self.quizzes:
                if not self.write(learner, "attempt", quiz):
                    return

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=120)

    def acknowledged_since(self, moment: float) -> bool:
        with self.ledger.lock:
            return any(started >= moment for started in self.ledger.succeeded)


@pytest.fixture
def servers() -> Iterator[tuple[ThrowawayPostgres, ThrowawayRedis]]:
    postgres = ThrowawayPostgres()
    redis = ThrowawayRedis()
    try:
        postgres.init()
        postgres.start()
        redis.start()
        admin = create_engine(
            make_url(postgres.url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as connection:
            connection.execute(text("CREATE DATABASE academy"))
        admin.dispose()
        yield postgres, redis
    finally:
        redis.remove()
        postgres.remove()


def ready(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/readyz")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def mail_to(folder: Path, address: str) -> bool:
    return any(f"To: {address}" in path.read_text(errors="replace") for path in folder.glob("*.eml"))


def restart_if_dead(worker: WorkerProcess) -> None:
    """Start the worker again if it exited, as systemd (Restart=always) or any supervisor would: Celery
    5.7's worker sometimes exits when its Redis broker goes away while it holds unacknowledged tasks
    ("Unrecoverable error: AttributeError: 'NoneType' object has no attribute 'hostname'", raised by
    kombu's Redis channel restoring those tasks while the connection is being closed)."""
    if not worker.alive():
        DEATHS.append(worker.log()[-300:])
        worker.start()


def test_restarts_under_load_lose_no_acknowledged_write_and_no_queued_task(
    servers: tuple[ThrowawayPostgres, ThrowawayRedis], tmp_path: Path
) -> None:
    postgres, redis = servers
    database = postgres.url.rsplit("/", 1)[0] + "/academy"
    app = build_app(database, redis.url, tmp_path)
    published: list[str] = []

    def record_publish(sender: str | None = None, headers: dict[str, Any] | None = None, **_: Any) -> None:
        if sender == ISSUE and headers:
            published.append(headers["id"])

    after_task_publish.connect(record_publish, weak=False)
    clear_outline_cache()  # outlines are cached by version id, which other databases share
    server = make_server("127.0.0.1", 0, app, threaded=True)
    serving = threading.Thread(target=server.serve_forever, name="restarts-server", daemon=True)
    serving.start()
    port = server.server_port
    load = Load(port, make_learners(app, int(SECONDS * 8)), right_answers(app))
    recovery: dict[str, float] = {}
    try:
        with celery_worker(app, redis.url, tmp_path, CERTIFICATE_SWEEP_SECONDS=2) as worker:
            assert ready(port)
            started = time.monotonic()
            load.start()

            time.sleep(SECONDS * 0.2)
            postgres.stop("immediate")
            time.sleep(OUTAGE)
            postgres.start()
            back = time.monotonic()
            wait_for(
                lambda: load.acknowledged_since(back),
                RECOVERY,
                "writes to succeed after PostgreSQL's restart",
            )
            recovery["postgresql: first acknowledged write"] = time.monotonic() - back
            wait_for(lambda: ready(port), RECOVERY, "/readyz after PostgreSQL's restart", 0.2)
            recovery["postgresql: /readyz"] = time.monotonic() - back

            time.sleep(max(0.0, started + SECONDS * 0.5 - time.monotonic()))
            # tasks wait in the broker's queue while it is killed: the worker is stopped meanwhile
            worker.pause()
            paused_at = len(published)
            wait_for(lambda: len(published) >= paused_at + 3, RECOVERY, "tasks to wait in the queue", 0.1)
            queued = published[paused_at:]
            redis.kill()
            time.sleep(OUTAGE)
            redis.start()
            back = time.monotonic()
            worker.resume()
            restart_if_dead(worker)
            wait_for(lambda: ready(port), RECOVERY, "/readyz after the broker's restart", 0.2)
            recovery["broker: /readyz"] = time.monotonic() - back
            published_before = len(published)
            wait_for(
                lambda: len(published) > published_before, RECOVERY, "a task published after the restart"
            )
            recovery["broker: first task published"] = time.monotonic() - back

            time.sleep(max(0.0, started + SECONDS - time.monotonic()))
            load.stop()
            restart_if_dead(worker)

            # every completed course gets its certificate: the web server's tasks, or the sweep's
            def certified() -> bool:
                with app.app_context():
                    completed = db.session.scalar(
                        select(func.count()).select_from(Enrolment).where(Enrolment.completed_at.is_not(None))
                    )
                    issued = db.session.scalar(select(func.count()).select_from(Certificate))
                    db.session.remove()
                return bool(completed) and completed == issued

            wait_for(certified, 120, "a certificate for every completed course", 0.5)

            # a task queued in a transaction that rolls back (whole, or a savepoint of it) never runs
            with app.app_context():
                after_commit(lambda: send_email.delay("rolled-back@example.org", "never", "never"))
                db.session.rollback()
                savepoint = db.session.begin_nested()
                after_commit(lambda: send_email.delay("savepoint@example.org", "never", "never"))
                savepoint.rollback()
                after_commit(lambda: send_email.delay("committed@example.org", "sent", "sent"))
                db.session.commit()
                db.session.remove()
            mail = tmp_path / "mail"
            wait_for(lambda: mail_to(mail, "committed@example.org"), 60, "the committed transaction's e-mail")
            time.sleep(2)  # anything queued before it had its chance to run
            logs = worker.logs()
    finally:
        load.stop()
        after_task_publish.disconnect(record_publish)
        server.shutdown()
        serving.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        app.extensions["celery"].close()
        clear_outline_cache()

    ledger = load.ledger
    with app.app_context():
        rows = db.session.execute(select(Enrolment.user_id, LessonCompletion.lesson_slug).join(Enrolment))
        stored_lessons = {(user_id, lesson) for user_id, lesson in rows}
        stored_attempts = set(db.session.scalars(select(QuizAttempt.id)))
        db.session.remove()
        db.engine.dispose()
    received = set(re.findall(rf"Task {re.escape(ISSUE)}\[([0-9a-f-]+)\] received", logs))
    succeeded = set(re.findall(rf"Task {re.escape(ISSUE)}\[([0-9a-f-]+)\] succeeded", logs))
    gave_up = set(re.findall(rf"Task {re.escape(ISSUE)}\[([0-9a-f-]+)\] raised unexpected", logs))
    refusals = Counter((status, retry_after) for _when, status, retry_after in ledger.refused)
    rounded = {key: round(value, 1) for key, value in recovery.items()}
    print(
        f"{SECONDS:.0f} s of load: {sum(ledger.statuses.values())} write requests, answers "
        f"{dict(ledger.statuses)}, no answer {dict(ledger.errors)}; acknowledged "
        f"{len(ledger.lessons)} lesson completions and {len(ledger.attempts)} attempts; "
        f"{len(published)} certificate tasks published, {len(set(published) & received)} delivered to the "
        f"worker, {len(set(published) & succeeded)} succeeded, {len(set(published) & gave_up)} gave up after "
        "their retries (their certificates come from the sweep); "
        f"{len(queued)} were in the queue when the broker was killed; recovery {rounded}; "
        f"the worker exited by itself {len(DEATHS)} times (started again)"
    )
    missing_lessons = ledger.lessons - stored_lessons
    missing_attempts = ledger.attempts - stored_attempts
    assert not missing_lessons and not missing_attempts, (len(missing_lessons), len(missing_attempts))
    assert ledger.lessons and ledger.attempts
    # the broker lost nothing it acknowledged: every task the web server published reached the worker
    lost = set(published) - received
    assert published and not lost, f"{len(lost)} of {len(published)} published tasks never reached the worker"
    assert set(queued) <= received and set(queued) <= succeeded, "the tasks queued when the broker died"
    assert set(refusals) <= {(503, "5")}, refusals  # clean refusals only: no 500, no other error
    assert refusals, "the outages were seen by the clients"
    assert not ledger.errors, ledger.errors  # the web server itself never went away
    assert not mail_to(tmp_path / "mail", "rolled-back@example.org")
    assert not mail_to(tmp_path / "mail", "savepoint@example.org")
