"""Tasks queued after the commit (RELIABILITY rule 4): a savepoint that rolls back takes the tasks queued
inside it along, even when the transaction around it commits (the offline sync applies each event in a
savepoint of its own)."""

from __future__ import annotations

from flask import Flask

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
