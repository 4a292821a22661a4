"""The "certificate" rule, against a stand-in for the certificates table (learning/certificates is
being built in parallel and has not landed): its query reads only the columns named in
CERTIFICATE_COLUMNS, and the rule turns itself on when a table with them is in the schema."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import Column, DateTime, ForeignKey, Integer, MetaData, String, Table

from learning.extensions import db
from learning.reminders import rules, services
from tests.reminders.conftest import sendings, step, utc

MORNING = utc("2026-12-01T02:00")


@pytest.fixture
def certificates(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Table:
    metadata = MetaData()
    Table("users", metadata, Column("id", Integer, primary_key=True))
    Table("courses", metadata, Column("id", Integer, primary_key=True))
    table = Table(
        "certificates",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("user_id", ForeignKey("users.id")),
        Column("course_id", ForeignKey("courses.id")),
        Column("status", String(12)),
        Column("issued_at", DateTime(timezone=True)),
        Column("email_sent_at", DateTime(timezone=True)),
        Column("downloaded_at", DateTime(timezone=True)),
    )
    connection = db.session.connection()
    table.create(connection)  # inside the test's transaction: rolled back with it
    assert set(rules.rule_queries(metadata)) == {*rules.RULE_QUERIES, "certificate"}
    assert "certificate" not in rules.rule_queries(db.metadata), "off until the table exists"
    monkeypatch.setattr(
        services, "rule_queries", lambda _metadata: {"certificate": rules.certificate_not_downloaded(table)}
    )
    return table


def test_a_certificate_not_downloaded_gets_one_nudge(
    app: Flask, learner, certificates: Table, mailbox
) -> None:
    user, enrolment = learner(last_active=MORNING - timedelta(days=5))
    enrolment.completed_at = MORNING - timedelta(days=5)  # completed: the only rule that still applies
    other, other_enrolment = learner(last_active=MORNING - timedelta(days=5))
    other_enrolment.completed_at = MORNING - timedelta(days=5)
    db.session.commit()
    emailed = MORNING - timedelta(days=4)
    db.session.execute(
        certificates.insert(),
        [
            {
                "id": 7,
                "user_id": user.id,
                "course_id": enrolment.course_id,
                "status": "valid",
                "issued_at": emailed,
                "email_sent_at": emailed,
                "downloaded_at": None,
            },
            {
                "id": 8,
                "user_id": other.id,
                "course_id": enrolment.course_id,
                "status": "valid",
                "issued_at": emailed,
                "email_sent_at": emailed,
                "downloaded_at": emailed,
            },
        ],
    )
    step(MORNING)
    step(MORNING + timedelta(days=1))
    assert sendings() == [(user.email, "certificate", "certificate:7", "download")]
    [message] = mailbox.messages
    assert message["Subject"] == "Your certificate for Harbour basics is waiting for you"
    text = message.get_body(("plain",)).get_content()
    assert 'Your certificate for "Harbour basics" is ready. Download it and share it:' in text
    assert "http://localhost/courses/harbour-basics" in text


def test_no_nudge_before_the_wait_or_for_a_revoked_certificate(
    app: Flask, learner, certificates: Table
) -> None:
    user, enrolment = learner(last_active=MORNING - timedelta(days=5))
    other, _ = learner(last_active=MORNING - timedelta(days=5))
    recent = MORNING - timedelta(days=2)
    old = MORNING - timedelta(days=10)
    db.session.execute(
        certificates.insert(),
        [
            {
                "id": 1,
                "user_id": user.id,
                "course_id": enrolment.course_id,
                "status": "valid",
                "issued_at": recent,
                "email_sent_at": recent,
                "downloaded_at": None,
            },
            {
                "id": 2,
                "user_id": other.id,
                "course_id": enrolment.course_id,
                "status": "revoked",
                "issued_at": old,
                "email_sent_at": old,
                "downloaded_at": None,
            },
        ],
    )
    step(MORNING)
    assert sendings() == []
