"""Tasks queued after the commit (RELIABILITY rule 4): a savepoint that rolls back takes the tasks queued
inside it along, even when the transaction around it commits (the offline sync applies each event in a
savepoint of its own)."""

from __future__ import annotations

import pytest
from flask import Flask
from kombu.exceptions import OperationalError as BrokerUnavailable

from learning.extensions import db
from learning.mail.tasks import send_email
from learning.outbox import after_commit
from tests.fixtures.smtp import Inbox


def queue(to: str) -> None:
    after_commit(lambda: send_email.delay(to, "subject", "text"))


def test_a_task_queued_in_a_rolled_back_savepoint_never_runs(app: Flask, create_user, mailbox: Inbox) -> None:
    create_user()
    queue("before@example.org")
    dropped = db.session.begin_nested()
    queue("dropped@example.org")
    inner = db.session.begin_nested()
    queue("inner-of-dropped@example.org")
    inner.commit()
    dropped.rollback()
    kept = db.session.begin_nested()
    queue("kept@example.org")
    kept.commit()
    queue("after@example.org")
    assert mailbox.messages == []  # nothing before the commit
    db.session.commit()
    assert sorted(str(m["To"]) for m in mailbox.messages) == [
        "after@example.org",
        "before@example.org",
        "kept@example.org",
    ]


def test_the_rollback_of_the_whole_transaction_drops_everything(
    app: Flask, create_user, mailbox: Inbox
) -> None:
    create_user()
    queue("outer@example.org")
    savepoint = db.session.begin_nested()
    queue("inner@example.org")
    savepoint.commit()
    db.session.rollback()
    db.session.commit()
    assert mailbox.messages == []


def test_a_broker_down_after_the_commit_fails_no_request(
    app: Flask, create_user, mailbox: Inbox, caplog
) -> None:
    """The transaction is committed: the client must not be told otherwise; the sweeps find the work."""

    def broker_down() -> None:
        raise BrokerUnavailable("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    create_user()
    after_commit(broker_down)
    queue("next@example.org")
    db.session.commit()  # does not raise
    assert "could not queue a task after the commit: the broker is unavailable" in caplog.text
    assert [str(m["To"]) for m in mailbox.messages] == ["next@example.org"]  # the others still run


def test_other_failures_after_the_commit_still_surface(app: Flask, create_user) -> None:
    def bug() -> None:
        raise ValueError("a programming error")

    create_user()
    after_commit(bug)
    with pytest.raises(ValueError, match="a programming error"):
        db.session.commit()
