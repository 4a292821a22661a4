"""SMTP failures: a permanent refusal is recorded, a temporary one is retried with the same claim
rules, a dead worker's claim is taken over, and an e-mail is never sent twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask

from learning.db import utcnow
from learning.extensions import db
from learning.reminders import delivery, services
from learning.reminders.tasks import send_reminders
from tests.fixtures.smtp import _free_port
from tests.reminders.conftest import bundles, task, utc

MORNING = utc("2026-12-01T02:00")  # 09:00 in Bangkok


class Picky:
    """Refuses "gone" recipients for good (550) and "busy" ones for now (451), ``busy_times`` times."""

    def __init__(self, busy_times: int = 1_000) -> None:
        self.busy_times = busy_times
        self.received: list[str] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:  # noqa: N802
        if address.startswith("gone"):
            return "550 No such user"
        if address.startswith("busy") and self.busy_times > 0:
            self.busy_times -= 1
            return "451 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.received.extend(envelope.rcpt_tos)
        return "250 OK"


@pytest.fixture
def picky(app: Flask) -> Iterator[Picky]:
    handler = Picky()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    saved = {key: app.config[key] for key in ("MAIL_BACKEND", "MAIL_SERVER", "MAIL_PORT")}
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    yield handler
    app.config.update(saved)
    controller.stop()


def decide(learner, *addresses: str) -> list[int]:
    for address in addresses:
        learner(last_active=MORNING - timedelta(days=10), email=address)
    result = services.scan(MORNING)
    db.session.commit()
    return result.pending


def test_permanent_refusal_is_recorded_and_the_others_still_go(app: Flask, learner, picky: Picky) -> None:
    pending = decide(learner, "ok@example.org", "gone@example.org", "busy@example.org", "fine@example.org")
    outcome = delivery.deliver(pending)
    assert picky.received == ["ok@example.org", "fine@example.org"]
    assert (len(outcome.sent), len(outcome.failed), len(outcome.retry)) == (2, 1, 1)
    state = {b.user.email: (b.status, b.attempts, b.error) for b in bundles()}
    assert state["gone@example.org"][0] == "failed" and "550" in (state["gone@example.org"][2] or "")
    assert state["busy@example.org"][:2] == ("pending", 1) and "451" in (state["busy@example.org"][2] or "")
    assert state["ok@example.org"] == ("sent", 0, None)
    # running the same batch again sends nothing twice and leaves the permanent failure alone
    again = delivery.deliver(pending)
    assert picky.received == ["ok@example.org", "fine@example.org"] and again.failed == []
    assert again.retry == outcome.retry


@pytest.fixture
def eager_retries(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Let eager retries run one after another (Celery re-applies a retried eager task with the
    app's task_eager_propagates, which the test settings turn on)."""
    monkeypatch.setitem(app.extensions["celery"].conf, "task_eager_propagates", False)


@pytest.mark.usefixtures("eager_retries")
def test_the_task_retries_a_temporary_failure_until_it_goes_through(
    app: Flask, learner, picky: Picky
) -> None:
    picky.busy_times = 2
    pending = decide(learner, "busy@example.org")
    result = task(app, send_reminders).apply(args=[pending], throw=False)  # eager: retries run at once
    assert result.successful()
    assert picky.received == ["busy@example.org"]
    assert [(b.status, b.attempts) for b in bundles()] == [("sent", 2)]


def test_too_many_temporary_failures_are_given_up_and_recorded(
    app: Flask, learner, picky: Picky, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "REMINDER_MAX_ATTEMPTS", 3)
    pending = decide(learner, "busy@example.org")
    for _ in range(3):
        delivery.deliver(pending)
    [bundle] = bundles()
    assert (bundle.status, bundle.attempts) == ("failed", 3)
    assert (bundle.error or "").startswith("gave up after 3 temporary failures")
    assert picky.received == []


@pytest.mark.usefixtures("eager_retries")
def test_a_server_that_cannot_be_reached_leaves_everything_for_the_retry(
    app: Flask, learner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "smtp")
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", _free_port())  # nothing listens there
    pending = decide(learner, "a@example.org", "b@example.org")
    outcome = delivery.deliver(pending)
    assert outcome.retry == pending and isinstance(outcome.error, OSError)
    assert [(b.status, b.attempts, b.claimed_at) for b in bundles()] == [("pending", 1, None)] * 2
    # the next scan that morning queues them again
    assert services.scan(MORNING + timedelta(minutes=15)).pending == pending
    db.session.commit()
    result = task(app, send_reminders).apply(args=[pending], throw=False)
    # the task retried with backoff until the e-mails reached REMINDER_MAX_ATTEMPTS (the first try
    # above, then 9 by the task), and recorded them as failed
    assert result.successful()
    assert [(b.status, b.attempts) for b in bundles()] == [("failed", 10)] * 2
    assert all((b.error or "").startswith("gave up after 10 temporary failures") for b in bundles())


def test_a_claim_is_respected_until_it_is_older_than_the_timeout(app: Flask, learner, mailbox) -> None:
    pending = decide(learner, "a@example.org")
    assert services.claim(pending, utcnow()) == pending
    db.session.commit()
    assert delivery.deliver(pending).sent == [], "another worker is sending it"
    assert services.scan(MORNING + timedelta(minutes=15)).pending == []
    [bundle] = bundles()
    bundle.claimed_at = utcnow() - app.config["REMINDER_CLAIM_TIMEOUT"] - timedelta(seconds=1)
    db.session.commit()
    assert services.scan(MORNING + timedelta(minutes=30)).pending == pending, "that worker died"
    db.session.commit()
    assert delivery.deliver(pending).sent == pending
    assert [str(m["To"]) for m in mailbox.messages] == ["a@example.org"]


def test_emails_of_past_days_that_never_went_out_expire(app: Flask, learner) -> None:
    pending = decide(learner, "a@example.org")
    result = services.scan(MORNING + timedelta(days=2))
    assert result.expired == 1 and pending[0] not in result.pending
    assert [b.status for b in bundles()] == ["expired"]
