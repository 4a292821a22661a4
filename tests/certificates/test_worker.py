"""Certificates through a real Celery worker: end to end on the embedded broker (always) and on a real
one (TEST_BROKER_URL), and a worker killed with SIGKILL in the middle of a batch still issues every
certificate, and sends every e-mail, exactly once."""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import func, select

from learning.certificates import credential, keys
from learning.certificates.models import Certificate, CertificateEvent
from learning.extensions import db
from learning.storage import storage
from tests.conftest import queued_celery
from tests.fixtures.completion import enrol_and_complete, make_learner
from tests.fixtures.databases import committed_app
from tests.fixtures.smtp import Inbox, _free_port
from tests.fixtures.worker import VISIBILITY_TIMEOUT, broker_url, celery_worker, new_queue, wait_for

pytestmark = pytest.mark.no_rollback


class Gate(Inbox):
    """An SMTP server that can refuse for now (451) until told to accept."""

    def __init__(self) -> None:
        super().__init__()
        self.accepting = True

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:  # noqa: N802
        if not self.accepting:
            return "451 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def gate() -> Iterator[tuple[Gate, int]]:
    handler = Gate()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


@contextmanager
def app_on(tmp_path: Path, broker: str, smtp_port: int) -> Iterator[Flask]:
    """An app on a committed database that publishes its tasks to ``broker`` (and mails through the gate)."""
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
            app.extensions["celery"].close()  # its broker connections


def complete(app: Flask, count: int) -> None:
    """``count`` learners complete the course in one transaction; its commit queues their certificates."""
    with app.app_context():
        for number in range(count):
            enrol_and_complete(make_learner(number, name=f"Learner {number} ใจดี"))
        db.session.commit()
        db.session.remove()


def tally(app: Flask) -> dict[str, int]:
    with app.app_context():
        row = db.session.execute(
            select(
                func.count(Certificate.id),
                func.count(Certificate.pdf_key),
                func.count(Certificate.email_sent_at),
            )
        ).one()
        db.session.remove()
    return {"issued": row[0], "rendered": row[1], "emailed": row[2]}


def check_every_certificate(app: Flask, learners: int) -> list[Certificate]:
    with app.app_context():
        certificates = list(db.session.scalars(select(Certificate).order_by(Certificate.id)))
        assert len(certificates) == learners
        assert len({(c.user_id, c.course_version_id) for c in certificates}) == learners
        trusted = {k.multibase for k in keys.published_keys()}
        for certificate in certificates:
            data = storage().load(certificate.pdf_key)
            assert hashlib.sha256(data).hexdigest() == certificate.pdf_sha256
            report = credential.check_credential(json.loads(certificate.credential), trusted)
            assert report.status == "valid", report.problems
        issued_events = db.session.scalar(
            select(func.count()).select_from(CertificateEvent).where(CertificateEvent.kind == "issued")
        )
        assert issued_events == learners
        db.session.remove()
    return certificates


@pytest.mark.parametrize("transport", ["embedded", pytest.param("broker", marks=pytest.mark.broker)])
def test_a_real_worker_issues_certificates_end_to_end(
    transport: str, tmp_path: Path, gate: tuple[Gate, int]
) -> None:
    inbox, port = gate
    broker = f"sqla+sqlite:///{tmp_path / 'broker.db'}" if transport == "embedded" else broker_url()
    with app_on(tmp_path, broker, port) as app, celery_worker(app, broker, tmp_path) as worker:
        complete(app, 5)
        wait_for(lambda: tally(app)["emailed"] == 5, 90, "5 certificates e-mailed")
        certificates = check_every_certificate(app, 5)
        assert sorted(m["To"] for m in inbox.messages) == sorted(f"learner-{n}@example.org" for n in range(5))
        page = app.test_client().get(f"/verify/{certificates[0].code}")
        assert page.status_code == 200 and certificates[0].holder_name in page.get_data(as_text=True)
        assert "issued certificate" in worker.log()


@pytest.mark.broker
def test_sigkill_in_the_middle_of_a_batch_issues_everything_exactly_once(
    tmp_path: Path, gate: tuple[Gate, int]
) -> None:
    learners = 100
    inbox, port = gate
    inbox.accepting = False  # e-mails wait (451, retried) while the worker is being killed
    broker = broker_url()
    with app_on(tmp_path, broker, port) as app:
        with celery_worker(app, broker, tmp_path) as worker:
            complete(app, learners)
            at_pool_kill = wait_for(lambda: (t := tally(app))["issued"] >= 15 and t, 90, "15 issued", 0.02)
            killed = worker.kill_pool()
            at_worker_kill = wait_for(lambda: (t := tally(app))["issued"] >= 45 and t, 90, "45 issued", 0.02)
            worker.kill()
            killed_at = time.monotonic()
            worker.start()
            # what the dead worker held is done within the visibility timeout plus a minute of the kill
            # (RELIABILITY rule 3); the e-mails then wait for the gate this test holds shut
            deadline = VISIBILITY_TIMEOUT + 60
            wait_for(lambda: tally(app)["rendered"] == learners, deadline, "every certificate rendered", 0.5)
            recovered = time.monotonic() - killed_at
            inbox.accepting = True
            wait_for(lambda: tally(app)["emailed"] == learners, 180, "every e-mail sent", 0.5)
            emailed = time.monotonic() - killed_at
            settled = len(inbox.messages)
            time.sleep(3)  # three more sweeps (one a second) and any late retry: nothing more may be sent
        # checked before the test's database goes
        check_every_certificate(app, learners)
    print(f"{learners} certificates rendered {recovered:.1f} s, e-mailed {emailed:.1f} s after the SIGKILL")
    assert killed, "the pool had processes to kill"
    assert at_pool_kill["issued"] < learners, "the pool was killed mid-batch"
    assert at_worker_kill["issued"] < learners, "the worker was killed mid-batch"
    recipients = Counter(message["To"] for message in inbox.messages)
    assert len(inbox.messages) == settled == learners
    assert set(recipients.values()) == {1} and len(recipients) == learners
    assert len({message["Message-ID"] for message in inbox.messages}) == learners
