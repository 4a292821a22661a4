"""Reminder e-mails through a real worker and beat on a real broker (issue 7, row 11): the pool killed
with SIGKILL while it holds claimed e-mails in the middle of an SMTP exchange, then the whole worker;
after the restart every e-mail arrives at the SMTP server exactly once, within the broker's visibility
timeout plus a minute of the last kill."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import func, select

from learning.db import utcnow
from learning.extensions import db
from learning.reminders.models import ReminderBundle
from tests.conftest import queued_celery
from tests.fixtures.databases import committed_app
from tests.fixtures.smtp import Inbox, _free_port
from tests.fixtures.worker import VISIBILITY_TIMEOUT, broker_url, celery_worker, new_queue, wait_for
from tests.reminders.conftest import idle_learners

pytestmark = [pytest.mark.no_rollback, pytest.mark.broker]

LEARNERS = 100
# What the worker runs with: batches of 10 e-mails, a scan every second, claims stale after 3 s.
SETTINGS = {
    "REMINDER_BATCH_SIZE": 10,
    "REMINDER_SCAN_SECONDS": 1,
    "REMINDER_CLAIM_TIMEOUT": 3,
}


class Stall(Inbox):
    """An SMTP server that keeps every recipient waiting (no answer) until released, then accepts:
    a worker killed meanwhile dies holding claimed e-mails, and none of them has reached the server."""

    def __init__(self) -> None:
        super().__init__()
        self.released = threading.Event()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:  # noqa: N802
        while not self.released.is_set():
            await asyncio.sleep(0.05)
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def stall() -> Iterator[tuple[Stall, int]]:
    handler = Stall()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield handler, controller.port
    handler.released.set()
    controller.stop()


@contextmanager
def app_on(tmp_path: Path, broker: str, smtp_port: int) -> Iterator[Flask]:
    with committed_app(
        tmp_path,
        CELERY={**queued_celery(), "broker_url": broker},
        CELERY_DEFAULT_QUEUE=new_queue(),
        MAIL_BACKEND="smtp",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp_port,
    ) as app:
        try:
            yield app
        finally:
            app.extensions["celery"].close()


def states(app: Flask) -> Counter[str]:
    with app.app_context():
        rows = db.session.execute(select(ReminderBundle.status, func.count()).group_by(ReminderBundle.status))
        result = Counter(dict(rows.all()))
        db.session.remove()
    return result


def claimed_since(app: Flask, moment: datetime) -> int:
    with app.app_context():
        count = db.session.scalar(
            select(func.count()).select_from(ReminderBundle).where(ReminderBundle.claimed_at > moment)
        )
        db.session.remove()
    return int(count or 0)


def test_sigkill_while_sending_reminders_sends_each_exactly_once(
    tmp_path: Path, stall: tuple[Stall, int]
) -> None:
    inbox, port = stall
    broker = broker_url()
    with app_on(tmp_path, broker, port) as app:
        idle_learners(app, LEARNERS)
        with celery_worker(app, broker, tmp_path, **SETTINGS) as worker:
            # the beat's scan decides the e-mails; both pool processes claim a batch and wait on the server
            at_pool_kill = wait_for(lambda: (s := states(app))["sending"] >= 20 and s, 90, "20 claimed", 0.05)
            pool_killed_at = utcnow()
            killed = worker.kill_pool()
            # the replaced pool claims again (its own batches, or the dead ones' once their claims are stale)
            wait_for(lambda: claimed_since(app, pool_killed_at) >= 10, 90, "claims by the new pool", 0.05)
            at_worker_kill = states(app)
            worker.kill()
            killed_at = time.monotonic()
            worker.start()
            inbox.released.set()
            deadline = VISIBILITY_TIMEOUT + 60 - (time.monotonic() - killed_at)
            wait_for(lambda: states(app)["sent"] == LEARNERS, deadline, "every reminder sent", 0.5)
            recovered = time.monotonic() - killed_at
            settled = len(inbox.messages)
            time.sleep(3)  # three more scans and any redelivered task: nothing more may be sent
            final = states(app)
    # the figures for the closing note (shown with pytest -s)
    print(
        f"pool kill at {dict(at_pool_kill)}, worker kill at {dict(at_worker_kill)}; all {LEARNERS} sent "
        f"{recovered:.1f} s after the worker's SIGKILL (deadline {VISIBILITY_TIMEOUT + 60} s)"
    )
    assert killed, "the pool had processes to kill"
    assert sum(at_pool_kill.values()) == LEARNERS and at_pool_kill["sent"] == 0, at_pool_kill
    assert at_worker_kill["sending"] >= 10 and at_worker_kill["sent"] == 0, at_worker_kill
    assert final == Counter({"sent": LEARNERS}), final
    recipients = Counter(str(message["To"]) for message in inbox.messages)
    assert len(inbox.messages) == settled == LEARNERS
    assert set(recipients.values()) == {1}
    assert set(recipients) == {f"learner-{n}@example.org" for n in range(LEARNERS)}
    assert all(message["Subject"] == "Your course is waiting: Harbour basics" for message in inbox.messages)
