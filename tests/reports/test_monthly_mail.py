"""The monthly e-mail through a real SMTP server: headline figures and the XLSX, once per user and month."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, timedelta

import openpyxl
import pytest
from flask import Flask
from sqlalchemy import select

from learning.auth.models import User
from learning.db import utcnow
from learning.extensions import db
from learning.reports import mailing
from learning.reports.models import ReportMailing
from learning.reports.tasks import send_monthly_reports
from tests.fixtures.smtp import Inbox
from tests.reports.conftest import DataSet

FEBRUARY = date(2026, 2, 15)  # reports on January 2026


@pytest.fixture
def officers(create_user: Callable[..., User]) -> list[User]:
    made = [create_user(roles=("secretariat",), email=f"officer{n}@escap.example.org") for n in (1, 2)]
    gone = create_user(roles=("secretariat",), email="former@escap.example.org")
    gone.active = False
    create_user(roles=("admin",), email="admin@escap.example.org")
    db.session.commit()
    return made


def test_each_secretariat_officer_gets_last_months_figures_once(
    dataset: DataSet, officers: list[User], mailbox: Inbox
) -> None:
    assert mailing.send_monthly(FEBRUARY) == 2
    assert sorted(m["To"] for m in mailbox.messages) == [
        "officer1@escap.example.org",
        "officer2@escap.example.org",
    ]
    message = mailbox.messages[0]
    assert message["Subject"] == "Smart Port Academy: completion report for 2026-01"
    text = message.get_body(("plain",)).get_content()
    # January 2026: enrolments 1, 2, 6 (6 left), 2 of them completed since; no completion in January
    expected = ["Learners: 3", "Enrolments: 3", "Of which left the course: 1", "Completions in the period: 0",
                "Completion rate of these enrolments (%): 66.7"]  # fmt: skip
    for line in expected:
        assert line in text
    assert "http://localhost/reports/?from=2026-01-01&to=2026-01-31" in text
    attachment = next(part for part in message.iter_attachments())
    assert attachment.get_filename() == "smart-port-academy-2026-01.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(attachment.get_content()), read_only=True)
    assert book.sheetnames[:3] == ["Headline figures", "Completion by country", "Completion by course"]
    headline = [[c.value for c in row] for row in book["Headline figures"].iter_rows()]
    assert headline[1:3] == [["Learners", 3], ["Enrolments", 3]]
    countries = [[c.value for c in row] for row in book["Completion by country"].iter_rows()]
    assert countries[1:] == [["Thailand", 2, 2, 2, 1, 100], ["Indonesia", 1, 1, 0, 0, 0]]
    book.close()

    mailbox.messages.clear()
    assert mailing.send_monthly(FEBRUARY) == 0  # the task delivered twice, or run again by hand
    assert mailbox.messages == []
    sent = db.session.scalars(select(ReportMailing.sent_at).where(ReportMailing.period == "2026-01")).all()
    assert len(sent) == 2 and all(sent)


def test_the_beat_task_reports_on_the_previous_month_once(
    app: Flask, dataset: DataSet, officers: list[User], mailbox: Inbox
) -> None:
    period = f"{mailing.previous_month(utcnow().date())[0]:%Y-%m}"
    assert "reports-monthly" in app.config["CELERY"]["beat_schedule"]
    task = app.extensions["celery"].tasks[send_monthly_reports.name]  # this app's, not the last one made
    task.apply().get()
    task.apply().get()
    assert len(mailbox.messages) == 2
    assert all(period in m["Subject"] for m in mailbox.messages)


def test_a_claim_held_by_another_worker_is_left_and_a_stale_one_taken_over(
    dataset: DataSet, officers: list[User], mailbox: Inbox
) -> None:
    now = utcnow()
    db.session.add(ReportMailing(user_id=officers[0].id, period="2026-01", claimed_at=now))
    db.session.add(
        ReportMailing(user_id=officers[1].id, period="2026-01", claimed_at=now - timedelta(hours=2))
    )
    db.session.commit()
    assert mailing.send_monthly(FEBRUARY) == 1
    assert [m["To"] for m in mailbox.messages] == ["officer2@escap.example.org"]


def test_a_failed_delivery_gives_the_claim_back(
    app: Flask, dataset: DataSet, officers: list[User], mailbox: Inbox
) -> None:
    app.config["MAIL_PORT"] = 9  # nothing listens there: the connection is refused
    with pytest.raises(OSError, match="refused"):
        mailing.send_monthly(FEBRUARY)
    row = db.session.scalar(select(ReportMailing).where(ReportMailing.user_id == officers[0].id))
    assert row is not None and row.claimed_at is None and row.sent_at is None


def test_previous_month() -> None:
    assert mailing.previous_month(date(2026, 1, 1)) == (date(2025, 12, 1), date(2025, 12, 31))
    assert mailing.previous_month(date(2026, 3, 31)) == (date(2026, 2, 1), date(2026, 2, 28))
