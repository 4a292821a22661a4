"""Two `celery beat` processes by mistake (issue 7, row 12): both send every periodic task, a real worker
runs them all on a real broker, and each periodic effect still happens once per tick: a round's reminders
are decided by one scan and e-mailed once (the scan's lock, RELIABILITY rule 5, and the unique keys of
rule 2); certificates whose task was lost are issued and e-mailed once by the doubled sweep."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import func, select

from learning.certificates.models import Certificate
from learning.extensions import db
from learning.reminders.models import ReminderBundle, ReminderSending
from tests.conftest import queued_celery
from tests.fixtures.completion import enrol_and_complete, make_learner
from tests.fixtures.databases import committed_app
from tests.fixtures.smtp import Inbox, _free_port
from tests.fixtures.worker import BeatProcess, broker_url, celery_worker, new_queue, wait_for
from tests.reminders.conftest import idle_learners

pytestmark = [pytest.mark.no_rollback, pytest.mark.broker]

TICK = 2  # seconds between two ticks of each beat, for the scan and the certificate sweep
TICKS = 10
IDLE, COMPLETING = 10, 3  # per round: learners due for a reminder, learners completing the course
SETTINGS = {"REMINDER_SCAN_SECONDS": TICK, "CERTIFICATE_SWEEP_SECONDS": TICK, "CERTIFICATE_EMAIL_LEASE": 1}
SCAN_SENT = re.compile(r"Scheduler: Sending due task reminders-scan")
SCAN_RAN = re.compile(r"reminder scan: (\d+) e-mails decided")


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


def complete_with_lost_tasks(app: Flask, first: int, count: int) -> None:
    """Learners complete the course; their certificate tasks go to a broker no worker reads (lost), so
    that only the periodic sweep can issue them."""
    with app.app_context():
        for number in range(first, first + count):
            enrol_and_complete(make_learner(number))
        db.session.commit()
        db.session.remove()


def counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        result = {
            "bundles": db.session.scalar(select(func.count()).select_from(ReminderBundle)),
            "sent": db.session.scalar(
                select(func.count()).select_from(ReminderBundle).where(ReminderBundle.status == "sent")
            ),
            "sendings": db.session.scalar(select(func.count()).select_from(ReminderSending)),
            "certificates": db.session.scalar(select(func.count()).select_from(Certificate)),
            "emailed": db.session.scalar(
                select(func.count()).select_from(Certificate).where(Certificate.email_sent_at.is_not(None))
            ),
        }
        db.session.remove()
    return {key: int(value or 0) for key, value in result.items()}


def reminders(app: Flask) -> dict[str, int]:
    return {key: value for key, value in counts(app).items() if key in ("bundles", "sent", "sendings")}


def test_two_beats_make_each_periodic_effect_happen_once_per_tick(
    tmp_path: Path, inbox: tuple[Inbox, int]
) -> None:
    mailbox, port = inbox
    broker = broker_url()
    with (
        committed_app(
            tmp_path,
            # the test's own commits publish to memory: a lost task, as from a web server that died
            CELERY=queued_celery(),
            CELERY_DEFAULT_QUEUE=new_queue(),
            MAIL_BACKEND="smtp",
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=port,
        ) as app,
        celery_worker(app, broker, tmp_path, beat=False, **SETTINGS) as worker,
    ):
        beats = [BeatProcess(worker.env, tmp_path, f"beat-{n}") for n in (1, 2)]
        try:
            for beat in beats:  # started together, so that their ticks come close and their scans meet
                beat.start(wait=False)
            for beat in beats:
                beat.wait_started()
            rounds = 0
            # a round's work appears between two ticks; the next starts once its reminders went out
            while rounds < TICKS or min(len(SCAN_SENT.findall(b.log())) for b in beats) < TICKS:
                idle_learners(app, IDLE, first=rounds * IDLE)
                complete_with_lost_tasks(app, 1000 + rounds * COMPLETING, COMPLETING)
                rounds += 1
                reminded = {"bundles": rounds * IDLE, "sent": rounds * IDLE, "sendings": rounds * IDLE}
                wait_for(lambda r=reminded: reminders(app) == r, 60, f"round {rounds} reminded", 0.2)
            expected = {**reminded, "certificates": rounds * COMPLETING, "emailed": rounds * COMPLETING}
            wait_for(lambda: counts(app) == expected, 90, "every certificate issued and e-mailed", 0.2)
            time.sleep(2 * TICK)  # two more ticks of each beat: nothing more may happen
            final = counts(app)
        finally:
            for beat in beats:
                beat.stop()
        log = worker.log()
    scans_sent = [len(SCAN_SENT.findall(beat.log())) for beat in beats]
    decided = [int(n) for n in SCAN_RAN.findall(log)]
    skipped = log.count("reminder scan skipped: another scan is running")
    print(
        f"{rounds} rounds; reminder scans sent by the two beats {scans_sent}, run {len(decided)} "
        f"(deciding {[n for n in decided if n]}), skipped on the lock {skipped}; {final}"
    )
    assert all(sent >= TICKS for sent in scans_sent), "each beat ticked at least ten times"
    assert final == expected, final
    # each round's reminders were decided by exactly one scan, all at once
    assert [n for n in decided if n] == [IDLE] * rounds
    assert len(decided) + skipped >= sum(scans_sent) - 2  # every scan sent ran or skipped (two in flight)
    recipients = Counter(str(message["To"]) for message in mailbox.messages)
    assert set(recipients.values()) == {1}, "nobody got an e-mail twice"
    reminded = {f"learner-{n}@example.org" for n in range(rounds * IDLE)}
    certified = {f"learner-{1000 + n}@example.org" for n in range(rounds * COMPLETING)}
    assert set(recipients) == reminded | certified
