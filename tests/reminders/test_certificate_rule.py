"""The "certificate" rule, against the certificates table of learning/certificates: its query reads
only the columns named in CERTIFICATE_COLUMNS, and the rule is on because the table has them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Table

from learning.certificates.models import Certificate
from learning.extensions import db
from learning.progress.models import Enrolment
from learning.reminders import rules
from tests.conftest import csrf_from
from tests.reminders.conftest import sendings, step, utc

MORNING = utc("2026-12-01T02:00")


@pytest.fixture
def certificates(app: Flask) -> Table:
    table = Certificate.__table__
    assert set(rules.rule_queries(db.metadata)) == {*rules.RULE_QUERIES, "certificate"}
    return table


def row(enrolment: Enrolment, **values: Any) -> dict[str, Any]:
    """A certificates row with what the table requires besides what the rule reads."""
    number = values["id"]
    return {
        "serial": f"SPA-TEST-0000-{number:04d}",
        "code": f"code-{number}",
        "course_version_id": enrolment.version_id,
        "holder_name": "Learner",
        "course_title": "Harbour basics",
        "hours": 1,
        "completed_at": values["issued_at"],
        "revoked_at": values["issued_at"] if values["status"] == "revoked" else None,
        **values,
    }


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
            row(enrolment, id=7, user_id=user.id, course_id=enrolment.course_id, status="valid",
                issued_at=emailed, email_sent_at=emailed, downloaded_at=None),
            row(other_enrolment, id=8, user_id=other.id, course_id=enrolment.course_id, status="valid",
                issued_at=emailed, email_sent_at=emailed, downloaded_at=emailed),
        ],
    )  # fmt: skip
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
    other, other_enrolment = learner(last_active=MORNING - timedelta(days=5))
    recent = MORNING - timedelta(days=2)
    old = MORNING - timedelta(days=10)
    db.session.execute(
        certificates.insert(),
        [
            row(enrolment, id=1, user_id=user.id, course_id=enrolment.course_id, status="valid",
                issued_at=recent, email_sent_at=recent, downloaded_at=None),
            row(other_enrolment, id=2, user_id=other.id, course_id=enrolment.course_id, status="revoked",
                issued_at=old, email_sent_at=old, downloaded_at=None),
        ],
    )  # fmt: skip
    step(MORNING)
    assert sendings() == []


def test_a_followed_link_leaves_the_nudge_the_download_button_ends_it(
    app: Flask, learner, certificates: Table, login, mailbox
) -> None:
    """The dashboard's download button (a POST) records the download; a GET of the same address (a mail
    scanner, a prefetch, a saved link) changes nothing, so its learner is still reminded."""
    emailed = MORNING - timedelta(days=4)
    rows = []
    users = []
    for number in (11, 12):
        user, enrolment = learner(last_active=MORNING - timedelta(days=5))
        enrolment.completed_at = MORNING - timedelta(days=5)
        users.append(user)
        rows.append(row(enrolment, id=number, user_id=user.id, course_id=enrolment.course_id, status="valid",
                        issued_at=emailed, email_sent_at=emailed, downloaded_at=None))  # fmt: skip
    db.session.commit()
    db.session.execute(certificates.insert(), rows)
    db.session.commit()
    followed, pressed = users
    for user, number in ((followed, 11), (pressed, 12)):
        client = app.test_client()
        client.environ_base["wsgi.url_scheme"] = "https"
        login(client, user)
        address = f"/certificates/SPA-TEST-0000-{number:04d}/certificate.pdf"
        assert client.get(address).status_code == 200
        if user is pressed:
            page = client.get("/dashboard").get_data(as_text=True)
            assert f'<form method="post" action="{address}"' in page
            response = client.post(address, data={"csrf_token": csrf_from(page)})
            assert response.status_code == 200 and response.data.startswith(b"%PDF")
    step(MORNING)
    assert sendings() == [(followed.email, "certificate", "certificate:11", "download")]
